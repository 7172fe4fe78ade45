"""Building blocks every app shares: the domain error and its one mapping to forms and API answers, decorators,
the guarded CSV writer, field encryption, accessible forms, validators; it imports no app."""
