"""An upload handler that stops writing a file once it passes MAX_UPLOAD_BYTES.

It sits first in FILE_UPLOAD_HANDLERS: past the cap it swallows the rest of that file's chunks,
so the temporary-file handler behind it never writes them, and hands the view an OversizeUpload
marker instead of a file. The view answers with a clear message; nothing is stored.
"""

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class OversizeUpload(UploadedFile):
    def __init__(self, name: str, received: int):
        super().__init__(file=None, name=name, content_type="application/octet-stream", size=received)


class CappedUploadHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0
        self.oversize = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_BYTES:
            self.oversize = True
            return None  # handlers below get nothing more for this file
        return raw_data

    def file_complete(self, file_size):
        if not self.oversize:
            return None
        # Handlers below never see file_complete now; close the partial temp file they started
        # (closing a TemporaryUploadedFile deletes it) rather than waiting for garbage collection.
        for handler in self.request.upload_handlers:
            partial = getattr(handler, "file", None)
            if handler is not self and partial is not None:
                partial.close()
        return OversizeUpload(self.file_name, self.received)
