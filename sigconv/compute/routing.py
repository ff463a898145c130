"""How the channels of an impulse response map onto the channels of a signal."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import IncompatibleSignalsError

__all__ = ["Route", "channel_routing", "routes_for", "sum_paths", "ROUTING_HELP"]

ROUTING_HELP = (
    "an IR with 1 channel is applied to every input channel, one with as many channels as the "
    "input channel by channel, a 2-channel IR turns a mono input into stereo, and a 4-channel "
    "true-stereo IR (LL, LR, RL, RR) is applied to a stereo input as a 2x2 matrix"
)


class Route(NamedTuple):
    """One convolution path: input channel ``source`` through IR channel ``kernel`` into output ``target``."""

    source: int
    kernel: int
    target: int


def channel_routing(input_channels: int, ir_channels: int) -> str:
    """How an IR's channels map onto an input's channels.

    Returns
    -------
    {'shared', 'parallel', 'split', 'matrix'}
        ``shared``: a mono IR on every input channel; ``parallel``: IR
        channel *c* on input channel *c*; ``split``: a mono input through
        each IR channel (mono to multichannel); ``matrix``: a stereo input
        through a true-stereo IR whose channels are LL, LR, RL, RR (input
        side first: LR carries the left input to the right output).

    Raises
    ------
    IncompatibleSignalsError
        Any other combination; the message names both channel counts.

    Examples
    --------
    >>> channel_routing(2, 1), channel_routing(1, 2), channel_routing(2, 4)
    ('shared', 'split', 'matrix')
    """
    if ir_channels == 1:
        return "shared"
    if ir_channels == input_channels:
        return "parallel"
    if input_channels == 1:
        return "split"
    if input_channels == 2 and ir_channels == 4:
        return "matrix"
    raise IncompatibleSignalsError(
        f"cannot apply an impulse response with {ir_channels} channels to an input with "
        f"{input_channels} channels: {ROUTING_HELP}"
    )


def routes_for(input_channels: int, ir_channels: int) -> tuple[list[Route], int]:
    """The convolution paths and the output channel count for a channel combination.

    Examples
    --------
    >>> routes, outputs = routes_for(2, 4)
    >>> outputs, [tuple(r) for r in routes]
    (2, [(0, 0, 0), (0, 1, 1), (1, 2, 0), (1, 3, 1)])
    """
    routing = channel_routing(input_channels, ir_channels)
    if routing == "shared":
        return [Route(c, 0, c) for c in range(input_channels)], input_channels
    if routing == "parallel":
        return [Route(c, c, c) for c in range(input_channels)], input_channels
    if routing == "split":
        return [Route(0, c, c) for c in range(ir_channels)], ir_channels
    return [Route(0, 0, 0), Route(0, 1, 1), Route(1, 2, 0), Route(1, 3, 1)], 2


def sum_paths(paths: np.ndarray, routes: list[Route], outputs: int) -> np.ndarray:
    """Add the columns of ``paths`` (one per route) into their routes' output channels.

    Examples
    --------
    >>> routes, outputs = routes_for(2, 4)
    >>> sum_paths(np.ones((1, 4)), routes, outputs).tolist()
    [[2.0, 2.0]]
    """
    if [r.target for r in routes] == list(range(outputs)):
        return paths
    y = np.zeros((paths.shape[0], outputs), dtype=paths.dtype)
    for column, route in enumerate(routes):
        y[:, route.target] += paths[:, column]
    return y
