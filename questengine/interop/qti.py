"""Read IMS QTI 2.1 assessment items into quest questions.

An item file (``assessmentItem``), a content package (a ``.zip`` or folder
with ``imsmanifest.xml`` listing the items) or a folder of item files. Each
interaction of an item becomes one question:

==========================================  =========================================
QTI 2.1                                     quest question
==========================================  =========================================
``choiceInteraction``, single cardinality   ``choice``: the correct choice's text
``choiceInteraction``, multiple             ``multi``: the correct choices' texts
``inlineChoiceInteraction``                 ``choice``, the prompt with a gap
``textEntryInteraction``, string            ``text``: the correct value and every
                                            full-credit ``mapEntry``
``textEntryInteraction``, float/integer     ``number``
``extendedTextInteraction``                 left out (an essay needs a teacher: a
                                            ``task`` with ``complete: review``)
any other interaction                       left out, named in a warning
==========================================  =========================================

The XML is parsed with ``defusedxml`` (no entity expansion, no external
entities or DTD fetching): item files come from other people's tools.

>>> xml = ('<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="q" title="Q">'
...        '<responseDeclaration identifier="R" cardinality="single" baseType="identifier">'
...        '<correctResponse><value>B</value></correctResponse></responseDeclaration>'
...        '<itemBody><choiceInteraction responseIdentifier="R" maxChoices="1"><prompt>2+2?</prompt>'
...        '<simpleChoice identifier="A">3</simpleChoice><simpleChoice identifier="B">4</simpleChoice>'
...        '</choiceInteraction></itemBody></assessmentItem>')
>>> [(q["type"], q["prompt"], q["options"], q["answer"]) for q in loads_qti(xml).questions]
[('choice', '2+2?', ['3', '4'], '4')]
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from ..errors import Problem
from .quizfiles import MAX_QUIZ_BYTES, QuizImport, QuizImportError, _decode, _read_bytes, question_id

__all__ = ["loads_qti", "read_qti"]

_INTERACTIONS = ("choiceInteraction", "textEntryInteraction", "extendedTextInteraction",
                 "inlineChoiceInteraction", "matchInteraction", "orderInteraction",
                 "associateInteraction", "gapMatchInteraction", "hotspotInteraction",
                 "hottextInteraction", "sliderInteraction", "uploadInteraction",
                 "drawingInteraction", "graphicGapMatchInteraction", "graphicOrderInteraction",
                 "graphicAssociateInteraction", "selectPointInteraction",
                 "positionObjectInteraction", "mediaInteraction", "customInteraction",
                 "endAttemptInteraction")
_BLOCKS = {"p", "div", "br", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "table",
           "tr", "ul", "ol"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el: Element, name: str) -> list[Element]:
    return [c for c in el if _local(c.tag) == name]


def _text(el: Element, skip: set[int] = frozenset(), blank: set[int] = frozenset()) -> str:
    """The text of an element as plain prose (images by their alt text); elements whose id()
    is in ``skip`` are left out, those in ``blank`` become a gap."""
    out: list[str] = []
    brk = "\x00"  # a line break the markup asks for; the source's own line breaks are spaces

    def walk(node: Element) -> None:
        name = _local(node.tag)
        if id(node) in blank:
            out.append(" _____ ")
        elif id(node) not in skip:
            if name in _BLOCKS:
                out.append(brk)
            if name == "img" and node.get("alt"):
                out.append(f"[image: {node.get('alt')}]")
            if node.text:
                out.append(node.text)
            for child in node:
                walk(child)
            if name in _BLOCKS and name != "br":
                out.append(brk)
        if node.tail:
            out.append(node.tail)

    if el.text:
        out.append(el.text)
    for child in el:
        walk(child)
    text = re.sub(r"\s+", " ", "".join(out))
    text = re.sub(r" ?\x00[ \x00]*", "\n", text)
    return re.sub(r" ([;,.:!?])", r"\1", text).strip()


def loads_qti(text: str, filename: str = "<qti>", result: QuizImport | None = None,
              used: set[str] | None = None) -> QuizImport:
    """The questions of one QTI 2.1 item (or the items of an assessmentTest-less file)."""
    result = result if result is not None else QuizImport(filename, "QTI 2.1")
    used = used if used is not None else set()
    try:
        root = fromstring(text.encode("utf-8") if isinstance(text, str) else text,
                          forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as err:
        raise QuizImportError([Problem(f"the XML declares entities or external references "
                                       f"({type(err).__name__}), which are refused for safety",
                                       file=filename, code="unsafe_xml")]) from err
    except ParseError as err:
        line = getattr(err, "position", (None,))[0]
        raise QuizImportError([Problem(f"the file is not well-formed XML: {err}", file=filename,
                                       line=line, code="bad_xml")]) from err
    items = [root] if _local(root.tag) == "assessmentItem" else [
        el for el in root.iter() if _local(el.tag) == "assessmentItem"]
    if not items:
        raise QuizImportError([Problem(f"no QTI assessmentItem in this file (its root element is "
                                       f"<{_local(root.tag)}>); a QTI 2.1 item starts with "
                                       "<assessmentItem>", file=filename, code="no_questions")])
    for item in items:
        _item(item, filename, result, used)
    return result


def _item(item: Element, filename: str, result: QuizImport, used: set[str]) -> None:
    title = item.get("title") or item.get("identifier") or "item"
    declarations = {d.get("identifier"): d for d in _children(item, "responseDeclaration")}
    body = next(iter(_children(item, "itemBody")), None)
    if body is None:
        result.skipped.append(title)
        result.warnings.append(Problem(f"item {title!r} has no itemBody; it was left out",
                                       file=filename, code="qti_no_body"))
        return
    interactions = [el for el in body.iter() if _local(el.tag) in _INTERACTIONS]
    if not interactions:
        result.skipped.append(title)
        result.warnings.append(Problem(f"item {title!r} has no interaction to answer; it was "
                                       "left out", file=filename, code="qti_no_interaction"))
        return
    all_ids = {id(el) for el in interactions}
    several = len(interactions) > 1
    for el in interactions:
        kind = _local(el.tag)
        response = el.get("responseIdentifier", "")
        name = f"{title} ({response})" if several else title
        decl = declarations.get(response)

        def skip(why: str, code: str) -> None:
            result.skipped.append(name)
            result.warnings.append(Problem(f"item {name!r} was left out: {why}", file=filename,
                                           code=code))

        if kind not in ("choiceInteraction", "textEntryInteraction", "inlineChoiceInteraction"):
            if kind == "extendedTextInteraction":
                skip("it asks for an extended text (an essay), which cannot be marked "
                     "automatically; add it as a task the teacher reviews (complete: review)",
                     "qti_essay")
            else:
                skip(f"its {kind} has no question kind here (choice, multi, number and text "
                     "can be imported)", "qti_unsupported")
            continue
        if decl is None:
            skip(f"it has no responseDeclaration for {response!r}", "qti_no_declaration")
            continue
        correct = [(v.text or "").strip() for c in _children(decl, "correctResponse")
                   for v in _children(c, "value")]
        mapping = {}
        for entry in (e for m in _children(decl, "mapping") for e in _children(m, "mapEntry")):
            try:
                mapping[entry.get("mapKey") or ""] = float(entry.get("mappedValue") or 0)
            except ValueError:
                result.warnings.append(Problem(
                    f"item {name!r}: the mapEntry {entry.get('mapKey')!r} has the value "
                    f"{entry.get('mappedValue')!r}, which is not a number; it was ignored",
                    file=filename, code="qti_bad_mapping"))
        if not correct and mapping:
            best = max(mapping.values())
            correct = [k for k, v in mapping.items() if v == best and v > 0]
        if not correct:
            skip("it gives no correct response to mark against", "qti_no_answer")
            continue
        prompt_el = next(iter(_children(el, "prompt")), None)
        q: dict = {"id": question_id(item.get("identifier", "") + (f"-{response}" if several
                                                                   else ""), used)}
        if kind in ("choiceInteraction", "inlineChoiceInteraction"):
            inline = kind == "inlineChoiceInteraction"
            choices = _children(el, "inlineChoice" if inline else "simpleChoice")
            texts = {c.get("identifier"): _text(c) for c in choices}
            options = [texts[c.get("identifier")] for c in choices]
            if len(set(options)) != len(options) or len(options) < 2:
                skip("its choices are fewer than two or have the same text", "qti_bad_choices")
                used.discard(q["id"])
                continue
            missing = [c for c in correct if c not in texts]
            if missing:
                skip(f"its correct response names choices it does not have: {missing}",
                     "qti_no_answer")
                used.discard(q["id"])
                continue
            if inline:  # the choice sits in the text: the prompt is the text with a gap
                q["prompt"] = _text(body, skip=all_ids - {id(el)}, blank={id(el)}) or title
            else:
                lead = _text(body, skip=all_ids | {id(x) for x in body.iter()
                                                   if _local(x.tag) == "prompt"})
                prompt = _text(prompt_el) if prompt_el is not None else ""
                q["prompt"] = "\n\n".join(x for x in (lead if not several else "", prompt)
                                            if x) or title
            if decl.get("cardinality") in ("multiple", "ordered"):
                q.update(type="multi", options=options, answer=[texts[c] for c in correct])
            else:
                if len(correct) > 1:
                    result.warnings.append(Problem(f"item {name!r} has several correct "
                                                   "responses for a single choice; the first "
                                                   "was kept", file=filename,
                                                   code="qti_several_correct"))
                q.update(type="choice", options=options, answer=texts[correct[0]])
        else:
            q["prompt"] = _text(body, skip=all_ids - {id(el)}, blank={id(el)}) or title
            base = decl.get("baseType", "string")
            if base in ("float", "integer"):
                try:
                    q.update(type="number", answer=float(correct[0]), tolerance=0.0)
                except ValueError:
                    skip(f"its correct response {correct[0]!r} is not a number", "qti_no_answer")
                    used.discard(q["id"])
                    continue
            else:
                full = max(mapping.values()) if mapping else None
                accept = list(dict.fromkeys(correct + [k for k, v in mapping.items()
                                                       if full is not None and v == full]))
                partial = [k for k, v in mapping.items() if full is not None and 0 < v < full
                           and k.casefold() not in {a.casefold() for a in accept}]
                q.update(type="text", accept=accept)
                if partial:
                    result.warnings.append(Problem(
                        f"item {name!r}: the answers with partial credit "
                        f"({', '.join(map(repr, partial))}) count as wrong here", file=filename,
                        code="qti_partial_credit"))
        if decl.get("cardinality") == "multiple" and kind == "textEntryInteraction":
            skip("it takes several text answers at once", "qti_unsupported")
            used.discard(q["id"])
            continue
        result.questions.append(q)


def read_qti(path: str | Path) -> QuizImport:
    """Read a QTI item file, a content package (.zip or folder with imsmanifest.xml), or a
    folder of item files."""
    path = Path(path)
    result = QuizImport(str(path), "QTI 2.1")
    used: set[str] = set()
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                names = _package_items(lambda n: zf.read(n).decode("utf-8-sig"),
                                       set(zf.namelist()), str(path))
                total = 0
                for name in names:
                    info = zf.getinfo(name)
                    total += info.file_size
                    if total > MAX_QUIZ_BYTES:
                        raise QuizImportError([Problem("the package's items are larger than "
                                                       f"{MAX_QUIZ_BYTES / 1e6:.0f} MB in all",
                                                       file=str(path), code="too_large")])
                    loads_qti(zf.read(name).decode("utf-8-sig"), f"{path}!{name}", result, used)
        except zipfile.BadZipFile as err:
            raise QuizImportError([Problem("the file is not a zip archive (a QTI content "
                                           "package)", file=str(path), code="bad_zip")]) from err
        return result
    if path.is_dir():
        files = {str(p.relative_to(path)).replace("\\", "/") for p in path.rglob("*")
                 if p.is_file()}
        names = _package_items(lambda n: _decode(_read_bytes(path / n), path / n), files,
                               str(path))
        for name in names:
            loads_qti(_decode(_read_bytes(path / name), path / name), str(path / name), result,
                      used)
        return result
    return loads_qti(_decode(_read_bytes(path), path), str(path), result, used)


def _package_items(read, names: set[str], where: str) -> list[str]:
    """The item files a content package lists (its manifest), else every .xml file."""
    if "imsmanifest.xml" in names:
        manifest = fromstring(read("imsmanifest.xml").encode("utf-8"), forbid_dtd=False,
                              forbid_entities=True, forbid_external=True)
        items = []
        for res in manifest.iter():
            if _local(res.tag) == "resource" and "item" in (res.get("type") or ""):
                href = res.get("href")
                if href and href in names:
                    items.append(href)
        if items:
            return items
    items = sorted(n for n in names if n.lower().endswith(".xml") and n != "imsmanifest.xml")
    if not items:
        raise QuizImportError([Problem("no QTI item files (.xml) found", file=where,
                                       code="no_questions")])
    return items
