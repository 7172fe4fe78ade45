"""Small text helpers for messages people read."""


def named_few(names: list[str], shown: int = 3) -> str:
    """'A, B, C and 9 more': the first `shown` names of a list, for a refusal or a report."""
    head = ", ".join(names[:shown])
    return f"{head} and {len(names) - shown} more" if len(names) > shown else head
