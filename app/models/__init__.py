"""Request and response models of the HTTP API, one module per resource (OpenAPI is generated
from these): ``assess``, ``here``, ``catalogue``, ``uploads``, ``siting``, ``jobs``, ``versions``,
``access``; ``common`` holds the pieces several answers share."""
