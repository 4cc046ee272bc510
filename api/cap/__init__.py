"""CAP 1.2 (OASIS Common Alerting Protocol): incidents as alert messages, and a safe reader.

The builder takes plain dataclasses (``CapIncident`` and its parts) that the app fills from the
database, so that this package knows nothing of the ORM.
"""

from api.cap.areas import areas_from_network
from api.cap.builder import CAP_NS, alert_messages
from api.cap.feed import CAP_MEDIA_TYPE, cap_atom_feed
from api.cap.model import CapAck, CapArea, CapEnd, CapIncident, CapText, CapUpdate
from api.cap.reader import CapError, check_cap_rules, read_cap, validate_cap

__all__ = [
    "CAP_MEDIA_TYPE",
    "CAP_NS",
    "CapAck",
    "CapArea",
    "CapEnd",
    "CapError",
    "CapIncident",
    "CapText",
    "CapUpdate",
    "alert_messages",
    "areas_from_network",
    "cap_atom_feed",
    "check_cap_rules",
    "read_cap",
    "validate_cap",
]
