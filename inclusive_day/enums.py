"""A labelled string enum: stored by value, shown through the translation catalogue."""

from enum import StrEnum

from sqlalchemy import Enum as SAEnum


class LabelledEnum(StrEnum):
    """A string enum whose members carry a translatable label (see `_labels`)."""

    @property
    def label(self) -> str:
        """The member's name in the user's language."""
        return str(type(self)._labels()[self])

    @classmethod
    def _labels(cls) -> dict:
        raise NotImplementedError

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, label) pairs for a select field, in declaration order."""
        return [(m.value, m.label) for m in cls]


def enum_column(enum_cls: type[StrEnum], length: int = 20) -> SAEnum:
    """A VARCHAR column with a CHECK constraint listing the enum's values, on every database."""
    return SAEnum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        name=enum_cls.__name__.lower(),
    )
