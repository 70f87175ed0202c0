"""Old name of identify.py (checking a file); kept only until prompts/sources.py and prompts/transfer.py
import ``playground.uploads.identify``. Remove it then. Drawing moved to pictures.py."""

from playground.uploads.identify import MediaInfo, MediaRejected, inspect_file

__all__ = ["MediaInfo", "MediaRejected", "inspect_file"]
