"""What a page leaves behind: widgets of the last student, tracebacks in kernel messages."""
import subprocess
import sys
import textwrap

from ipywidgets.widgets import widget as widget_module

from helpers import T1, cheap_hasher
from questengine.classroom import Classroom
from questengine.loader import loads_quest
from questengine.ui.play import PlayPage


def _classroom():
    c = Classroom(":memory:", hasher=cheap_hasher())
    owner = c.add_teacher("t@school.org", "Tess", "correct horse")
    code = c.create_class("t@school.org", "Class", "OWL-0001")
    c.publish(loads_quest(T1), by=owner)
    c.assign("t1", code, by=owner)
    c.add_student(code, "Ada Secret", "2468")
    return c, code


def _texts(widget) -> str:
    """Every string trait of every widget alive now."""
    out = []
    for w in list(widget_module._instances.values()):
        for name in w.keys:
            value = getattr(w, name, None)
            if isinstance(value, str):
                out.append(value)
    return "\n".join(out)


def test_logout_closes_every_widget_of_the_student_and_empties_the_form():
    c, code = _classroom()
    page = PlayPage(c)
    login = page.login
    login.code.value, login.name.value, login.pin.value = code, "Ada Secret", "2468"
    at_login = set(widget_module._instances)
    login.button.click()
    assert page.session is not None
    page.quest_list.children[0].children[0].click()  # open the quest: more widgets
    session_widgets = set(widget_module._instances) - at_login
    assert len(session_widgets) > 20
    assert "Ada Secret" in _texts(page.widget)
    page.logout.click()
    assert session_widgets & set(widget_module._instances) == set()
    assert "Ada Secret" not in _texts(page.widget)
    assert (login.code.value, login.name.value, login.pin.value) == ("", "", "")
    assert "logged out" in login.message.value
    # the next student logs in on the same page and gets a working page
    login.code.value, login.name.value, login.pin.value = code, "Ada Secret", "2468"
    login.button.click()
    assert page.session is not None and page.quest_list.children


GUARDED = textwrap.dedent("""
    import io, logging, sys
    from IPython.core.interactiveshell import InteractiveShell
    import ipywidgets as w
    page_out, page_err = io.StringIO(), io.StringIO()
    sys.stdout, sys.stderr = page_out, page_err   # what a kernel sends to the browser
    shell = InteractiveShell.instance()
    shell._showtraceback = lambda etype, value, stb: page_err.write("\\n".join(stb))
    from questengine.ui.page import guard_kernel
    guard_kernel()
    b = w.Button()
    b.on_click(lambda _b: 1 / 0)   # a callback that fails, as after a forged message
    b.click()
    logging.getLogger("Comm").error("Exception in comm_msg", exc_info=(ValueError,
                                    ValueError("forged index"), None))
    import warnings; warnings.warn("a warning naming /srv/questengine/secret.py")
    sys.__stdout__.write(repr((page_out.getvalue(), page_err.getvalue())))
""")


def test_a_guarded_kernel_sends_no_traceback_to_the_page():
    done = subprocess.run([sys.executable, "-c", GUARDED], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    page_out, page_err = eval(done.stdout)
    assert page_out == "" and page_err == "", (page_out, page_err)
    # the server's log has them
    assert "ZeroDivisionError" in done.stderr and "forged index" in done.stderr
    assert "secret.py" in done.stderr
