class DomainError(Exception):
    """A business rule refused the action. The message is written for a clerk to read.

    `problems` carries field-level detail: a list of (where, field, message), e.g.
    ("line 2", "quantity", "must be greater than zero").
    """

    def __init__(self, message: str, problems: list[tuple[str, str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        details = "; ".join(f"{where}, {field}: {text}" for where, field, text in self.problems)
        return f"{self.message} {details}"
