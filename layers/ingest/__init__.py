"""Reading planners' site files: any common format and CRS, safely.

``read_upload(data, filename, crs=None, limits=Limits())`` → :class:`Upload` (parcels in
EPSG:4490 with their attributes, the CRS used, warnings, the input's sha256). The file is
sniffed by content, archives are inspected without extracting, XML with a DTD is refused,
and the GDAL/parsing work runs in a subprocess with memory, CPU, time and file-size limits
(:mod:`layers.ingest.worker`), so a crash or hang in a parser cannot take the server down.
Every problem raises :class:`IngestError` with a message naming it.
"""

from layers.ingest.errors import IngestError, UnsupportedFormat, UploadTooLarge
from layers.ingest.limits import Limits
from layers.ingest.read import Parcel, Upload, read_upload

__all__ = ["IngestError", "Limits", "Parcel", "UnsupportedFormat", "Upload", "UploadTooLarge",
           "read_upload"]
