"""One vehicle's motion: its fixes (:class:`Track`), the stops and trips between them
(:func:`split_motion`), and the vectorised range and interval helpers they share with the
rules. Pure: plain numpy data in and out."""

from telematics.motion.split import Motion, split_motion
from telematics.motion.track import LocalFrame, Track

__all__ = ["LocalFrame", "Motion", "Track", "split_motion"]
