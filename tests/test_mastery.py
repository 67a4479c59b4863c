"""Tests of questengine.mastery: the score rule and Bayesian Knowledge Tracing.

BKT is checked against an independent computation: a two-state hidden Markov
model (hidden state unknown/known, observation wrong/right) run as a forward
filter with explicit emission and transition matrices.
"""
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from questengine import Action, loads_quest, quest_graph
from questengine.engine import act, replay
from questengine.mastery import BKT, MASTERED_P, Observation, bkt, bkt_update, estimate, score_rule

# --- an independent BKT: HMM forward filter ------------------------------------------

UNKNOWN, KNOWN = 0, 1
WRONG, RIGHT = 0, 1


def hmm(params):
    """(initial, emission, transition) of BKT as an HMM over states (unknown, known)."""
    p0, learn, guess, slip = params
    initial = [1 - p0, p0]
    # emission[state][observation]: P(wrong | unknown) = 1 - g, P(right | unknown) = g, ...
    emission = [[1 - guess, guess],
                [slip, 1 - slip]]
    # transition[from][to]: an unknown skill is learned with p(T); a known one is never forgotten
    transition = [[1 - learn, learn],
                  [0, 1]]
    return initial, emission, transition


def forward_filter(params, observations):
    """P(known) before the next answer, after seeing ``observations`` (a list of bools)."""
    belief, emission, transition = hmm(params)
    for correct in observations:
        y = RIGHT if correct else WRONG
        # condition on the observation: elementwise product with a column of the emission matrix
        joint = [belief[s] * emission[s][y] for s in (UNKNOWN, KNOWN)]
        total = sum(joint)
        posterior = [j / total for j in joint]
        # predict: row vector times the transition matrix
        belief = [sum(posterior[s] * transition[s][t] for s in (UNKNOWN, KNOWN)) for t in (UNKNOWN, KNOWN)]
    return belief[KNOWN]


def random_params(rng):
    return tuple(rng.uniform(0.01, 0.99) for _ in range(4))


# --- score rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scores, mode, expected",
    [
        ([0.4, 0.9, 0.6], "latest", 0.6),
        ([0.4, 0.9, 0.6], "best", 0.9),
        ([0.7], "latest", 0.7),
        ([0.7], "best", 0.7),
        ([], "latest", 0.0),
        ([], "best", 0.0),
    ],
)
def test_score_rule(scores, mode, expected):
    assert score_rule(scores, mode) == expected


def test_score_rule_default_is_latest():
    assert score_rule([1.0, 0.2]) == 0.2


def test_score_rule_takes_any_iterable():
    assert score_rule(iter([0.1, 0.5]), "best") == 0.5


# --- BKT: hand computed -----------------------------------------------------------------


def test_bkt_textbook_example():
    # prior 0.3, learn 0.1, guess 0.2, slip 0.1
    # right: posterior = .3*.9 / (.3*.9 + .7*.2) = 27/41; then + (14/41) * 0.1 = 142/205
    params = BKT(prior=0.3, learn=0.1, guess=0.2, slip=0.1)
    after_right = Fraction(142, 205)
    assert bkt_update(0.3, True, params) == pytest.approx(float(after_right), abs=1e-15)
    # wrong: posterior = .3*.1 / (.3*.1 + .7*.8) = 3/59; then + (56/59) * 0.1 = 43/295
    assert bkt_update(0.3, False, params) == pytest.approx(float(Fraction(43, 295)), abs=1e-15)
    # right then right: from 142/205
    p = after_right
    post = p * Fraction(9, 10) / (p * Fraction(9, 10) + (1 - p) * Fraction(2, 10))
    two_right = post + (1 - post) * Fraction(1, 10)
    assert bkt([True, True], params) == pytest.approx(float(two_right), abs=1e-15)
    assert two_right == Fraction(717, 780)  # 0.91923...


def test_bkt_of_nothing_is_the_prior():
    assert bkt([], BKT(prior=0.42)) == 0.42


def test_bkt_defaults():
    assert BKT() == BKT(prior=0.3, learn=0.1, guess=0.2, slip=0.1)


@pytest.mark.parametrize("name", ["prior", "learn", "guess", "slip"])
@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_bkt_params_in_range(name, value):
    with pytest.raises(ValueError, match=f"BKT {name} must be between 0 and 1, got {value}"):
        BKT(**{name: value})


def test_bkt_accepts_observations_and_bools():
    params = BKT()
    seq = [True, False, True]
    obs = [Observation(c, 0.5, "g", 1) for c in seq]
    assert bkt(obs, params) == bkt(seq, params)


def test_mastered_line():
    assert MASTERED_P == 0.95
    params = BKT()
    answers = []
    while bkt(answers, params) < MASTERED_P:
        answers.append(True)
    assert len(answers) == 3  # 0.3 -> 0.693 -> 0.919 -> 0.983
    assert bkt(answers[:-1], params) < MASTERED_P <= bkt(answers, params)


# --- BKT: against the HMM forward filter ------------------------------------------------


def test_forward_filter_agrees_with_the_hand_computation():
    assert forward_filter((0.3, 0.1, 0.2, 0.1), [True]) == pytest.approx(142 / 205, abs=1e-15)


def test_bkt_update_matches_hmm_on_random_steps():
    rng = random.Random(20240501)
    for _ in range(2000):
        prior, learn, guess, slip = random_params(rng)
        correct = rng.random() < 0.5
        params = BKT(prior=prior, learn=learn, guess=guess, slip=slip)
        assert abs(bkt_update(prior, correct, params) - forward_filter((prior, learn, guess, slip), [correct])) < 1e-12


def test_bkt_matches_hmm_on_random_sequences():
    rng = random.Random(7)
    for _ in range(500):
        prior, learn, guess, slip = random_params(rng)
        seq = [rng.random() < rng.random() for _ in range(rng.randint(0, 60))]
        params = BKT(prior=prior, learn=learn, guess=guess, slip=slip)
        assert abs(bkt(seq, params) - forward_filter((prior, learn, guess, slip), seq)) < 1e-12


unit = st.floats(min_value=0.001, max_value=0.999, allow_nan=False)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(prior=unit, learn=unit, guess=unit, slip=unit, seq=st.lists(st.booleans(), max_size=40))
def test_bkt_matches_hmm_property(prior, learn, guess, slip, seq):
    params = BKT(prior=prior, learn=learn, guess=guess, slip=slip)
    ours = bkt(seq, params)
    assert abs(ours - forward_filter((prior, learn, guess, slip), seq)) < 1e-12
    assert 0.0 <= ours <= 1.0


def exact_bkt(params, seq):
    """The same equations in exact rational arithmetic."""
    prior, learn, guess, slip = map(Fraction, params)
    p = prior
    for correct in seq:
        right = p * (1 - slip) if correct else p * slip
        wrong_state = (1 - p) * guess if correct else (1 - p) * (1 - guess)
        posterior = right / (right + wrong_state)
        p = posterior + (1 - posterior) * learn
    return p


def test_forward_filter_is_exact_enough():
    # the independent filter keeps both masses, so it stays within 1e-15 of exact arithmetic
    rng = random.Random(3)
    for _ in range(300):
        params = random_params(rng)
        seq = [rng.random() < 0.5 for _ in range(rng.randint(0, 80))]
        assert abs(forward_filter(params, seq) - float(exact_bkt(params, seq))) < 1e-14


@pytest.mark.parametrize("right, wrong", [(30, 21), (30, 25), (40, 30)])
def test_bkt_does_not_get_stuck_at_certainty(right, wrong):
    # With the default parameters, 30 right answers take p(known) within 1e-16
    # of 1; a long run of wrong answers afterwards must bring it down again
    # (exactly: 0.99763 after 21 wrong, 0.22224 after 25).
    seq = [True] * right + [False] * wrong
    expected = float(exact_bkt((0.3, 0.1, 0.2, 0.1), seq))
    assert abs(forward_filter((0.3, 0.1, 0.2, 0.1), seq) - expected) < 1e-12
    assert abs(bkt(seq, BKT()) - expected) < 1e-12


@pytest.mark.parametrize("correct", [True, False])
def test_bkt_without_learning_or_noise(correct):
    # no guess, no slip, no learning: one answer settles it
    params = BKT(prior=0.5, learn=0.0, guess=0.0, slip=0.0)
    assert bkt([correct], params) == (1.0 if correct else 0.0)


def test_bkt_impossible_observation_keeps_the_belief():
    # known for sure and never slips, yet wrong: the update leaves p unchanged (no division by zero)
    params = BKT(prior=1.0, learn=0.0, guess=0.0, slip=0.0)
    assert bkt_update(1.0, False, params) == 1.0


# --- estimate ---------------------------------------------------------------------------


def obs(node, attempt, score, *answers):
    return [Observation(a, score, node, attempt) for a in answers]


def test_estimate_score_takes_one_score_per_attempt():
    evidence = obs("g", 1, 0.9, True, True, False) + obs("g", 2, 0.4, False, True)
    assert estimate(evidence) == 0.4
    assert estimate(evidence, "score", mode="latest") == 0.4
    assert estimate(evidence, "score", mode="best") == 0.9


def test_estimate_score_over_several_nodes():
    evidence = obs("quiz", 1, 0.5, True, False) + obs("gate", 1, 1.0, True) + obs("work", 1, 0.0, False)
    assert estimate(evidence) == 0.0
    assert estimate(evidence, mode="best") == 1.0


def test_estimate_score_counts_a_repeated_score_once_per_attempt():
    # two attempts with the same score are two scores, and an attempt with many answers one score
    evidence = obs("g", 1, 0.5, True, False) + obs("g", 2, 0.5, False, True)
    assert estimate(evidence) == 0.5


def test_estimate_without_evidence():
    assert estimate([]) == 0.0
    assert estimate([], "bkt") == BKT().prior


def test_estimate_bkt_uses_every_answer():
    evidence = obs("g", 1, 0.5, True, False) + obs("g", 2, 1.0, True, True)
    params = BKT(prior=0.2, learn=0.15, guess=0.25, slip=0.05)
    assert estimate(evidence, "bkt", params) == bkt([True, False, True, True], params)
    assert abs(estimate(evidence, "bkt", params) - forward_filter((0.2, 0.15, 0.25, 0.05), [True, False, True, True])) < 1e-12


# --- BKT gates in the engine ---------------------------------------------------------------

BKT_GATE = """
id: b
title: B
competencies: [{id: c, name: C}]
nodes:
  - id: gate
    kind: gate
    title: Gate
    competencies: [c]
    estimator: bkt
    THRESHOLD
    questions:
      - {id: q1, type: number, prompt: x, answer: 1}
      - {id: q2, type: number, prompt: y, answer: 2}
  - {id: end, kind: end, title: End}
edges: [{from: gate, to: end, when: success}]
"""


def answer_gate(text, answers):
    G = quest_graph(loads_quest(text))
    events = act(G, replay(G, []), Action("answer", "gate", answers=answers))
    return events, replay(G, events)


def test_bkt_gate_records_the_bkt_mastery():
    events, progress = answer_gate(BKT_GATE.replace("THRESHOLD", "threshold: 0.9"), {"q1": "1", "q2": "2"})
    expected = forward_filter((0.3, 0.1, 0.2, 0.1), [True, True])  # 0.91923...
    grade = next(e for e in events if e.type == "grade")
    assert grade.data["mastery"]["c"] == pytest.approx(expected, abs=1e-6)
    assert progress.state("gate") == "success"


def test_bkt_gate_uses_its_own_parameters():
    text = BKT_GATE.replace("THRESHOLD", "threshold: 0.5\n    bkt: {prior: 0.1, learn: 0.0, guess: 0.3, slip: 0.2}")
    events, progress = answer_gate(text, {"q1": "1", "q2": "5"})
    expected = forward_filter((0.1, 0.0, 0.3, 0.2), [True, False])
    grade = next(e for e in events if e.type == "grade")
    assert grade.data["mastery"]["c"] == pytest.approx(expected, abs=1e-6)
    assert progress.state("gate") == "fail"


def test_bkt_gate_without_a_threshold_uses_the_mastered_line():
    # DESIGN section 5: BKT says mastered at p >= 0.95 by default. Two right
    # answers from the default prior give p = 0.919: not yet mastered.
    events, progress = answer_gate(BKT_GATE.replace("THRESHOLD", ""), {"q1": "1", "q2": "2"})
    grade = next(e for e in events if e.type == "grade")
    assert grade.data["mastery"]["c"] == pytest.approx(717 / 780, abs=1e-6)
    assert grade.data["mastery"]["c"] < MASTERED_P
    assert progress.state("gate") == "fail"
