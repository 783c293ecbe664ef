"""Kolada's genders: T (total), K (women) and M (men), in the order kpijmf reads, stores and shows them.

Its own module, free of kpijmf imports, so that every layer (the row parser, the store's columns, the CLI's
choices) can name them from here without loading the HTTP client.
"""

from typing import Literal, TypeGuard, get_args

Gender = Literal["T", "K", "M"]  # the type the row decoder checks a gender against
GENDERS: tuple[str, ...] = get_args(Gender)


def is_gender(value: object) -> TypeGuard[Gender]:
    """Whether `value` is one of Kolada's genders."""
    return value in GENDERS
