"""A fixed set of colour names people search by, and the nearest name for any colour."""

from __future__ import annotations

import numpy as np

from mosaic.imaging.lab import ciede2000, hex_to_rgb, rgb_to_lab

# Sixteen everyday names with a typical sRGB value each; "teal" and "navy" because photo
# collections are full of sea and evening sky that "green"/"blue" describe badly.
NAMED_COLOURS = {
    "black": "#101010",
    "grey": "#808080",
    "white": "#f5f5f5",
    "red": "#d02020",
    "maroon": "#7a1e1e",
    "orange": "#f08020",
    "yellow": "#f0d020",
    "olive": "#7a7a20",
    "green": "#30a030",
    "teal": "#208080",
    "cyan": "#30c8e0",
    "blue": "#2050d0",
    "navy": "#1a2a5a",
    "purple": "#7030a0",
    "pink": "#f090b0",
    "brown": "#8a5a30",
}

_NAMES = list(NAMED_COLOURS)
_LABS = rgb_to_lab(np.array([hex_to_rgb(value) for value in NAMED_COLOURS.values()]))


def nearest_name(lab) -> str:
    """The named colour closest (CIEDE2000) to one Lab colour."""
    return _NAMES[int(np.argmin(ciede2000(np.asarray(lab, dtype=np.float64)[None, :], _LABS)))]


def name_lab(name: str) -> np.ndarray:
    """The Lab value of a colour name; KeyError lists the known names."""
    key = name.strip().lower().replace("gray", "grey")
    if key not in NAMED_COLOURS:
        raise KeyError(f"unknown colour name {name!r}; known: {', '.join(_NAMES)}")
    return _LABS[_NAMES.index(key)]
