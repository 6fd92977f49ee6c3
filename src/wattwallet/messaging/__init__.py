"""Messages to consumers: DLT-registered templates in English and Telugu."""

from wattwallet.messaging.templates import (
    KINDS,
    LANGUAGES,
    FigureInvalid,
    FigureMissing,
    Rendered,
    UnknownTemplate,
    render,
    sms_segments,
)

__all__ = [
    "KINDS",
    "LANGUAGES",
    "FigureInvalid",
    "FigureMissing",
    "Rendered",
    "UnknownTemplate",
    "render",
    "sms_segments",
]
