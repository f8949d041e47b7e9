"""The `page` fixture counts console errors, less htmx's report of an aborted request."""
from tests.browser.conftest import record_console_error


def recorded(*lines: str) -> list[str]:
    errors: list[str] = []
    for line in lines:
        record_console_error(errors, line)
    return errors


def test_an_aborted_request_is_not_a_javascript_error():
    target = ", [object HTMLDataListElement]"
    assert recorded("htmx:afterRequest" + target, "htmx:sendAbort" + target) == []
    assert recorded("htmx:afterRequest" + target, "htmx:sendAbort" + target,
                    "htmx:afterRequest, [object HTMLTableElement]",
                    "htmx:sendAbort, [object HTMLTableElement]") == []


def test_other_errors_still_count():
    target = ", [object HTMLDataListElement]"
    failed = recorded("htmx:afterRequest" + target, "htmx:sendError" + target)
    assert failed == ["htmx:afterRequest" + target, "htmx:sendError" + target]
    assert recorded("Uncaught TypeError: x is undefined") == ["Uncaught TypeError: x is undefined"]
    # an afterRequest error of another element is not the abort's
    assert recorded("htmx:afterRequest, [object HTMLFormElement]",
                    "htmx:sendAbort" + target) == ["htmx:afterRequest, [object HTMLFormElement]"]
