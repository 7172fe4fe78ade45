"""Field rules for text people type, shared by every app's forms and serializers."""
import unicodedata

from django.core.exceptions import ValidationError


def validate_printable(value: str) -> None:
    """Letters of any script are welcome; control characters (newlines, NUL, bidi overrides) are not."""
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn") and char not in "\u200c\u200d":
            raise ValidationError(f"Contains a control character (U+{ord(char):04X}); remove it.", code="control")
