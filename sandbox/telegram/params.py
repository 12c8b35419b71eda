"""Bot API request parameters from any way Telegram accepts them.

A call's parameters come in the query string, a form (urlencoded or multipart, where objects
and arrays are JSON text and files are parts) or a JSON body. `Params` reads one typed value at
a time and answers a malformed one with Telegram's 400; a file or body over the upload limit is
answered 413 Request Entity Too Large, as api.telegram.org answers it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aiohttp import BodyPartReader, web

from sandbox.telegram.world import ApiError, bad_request

TOO_LARGE = "Request Entity Too Large"


@dataclass(frozen=True)
class Upload:
    """A file sent in a multipart part."""

    data: bytes
    filename: str | None
    content_type: str | None


@dataclass
class Params:
    """The parameters of one call: values (str from forms, any JSON type from JSON bodies)
    and uploaded files by part name."""

    values: dict[str, object] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def raw(self, name: str) -> object:
        return self.values.get(name)

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise bad_request(f"{name} is empty" if name == "text" else f"{name} is required")
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value in (None, ""):
            if required:
                raise bad_request(f"{name} is required")
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        if isinstance(value, int):
            return value
        try:
            return int(str(value))
        except ValueError:
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1") if value is not None else False

    def structured(self, name: str) -> object:
        """An object or array parameter (JSON text in forms)."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None

    def chat_ref(self) -> object:
        """chat_id as given: an integer, or an @username."""
        value = self.values.get("chat_id")
        if value in (None, ""):
            raise bad_request("chat_id is empty")
        if isinstance(value, str) and not value.startswith("@"):
            try:
                return int(value)
            except ValueError:
                raise bad_request("chat not found") from None
        return value


async def read_params(request: web.Request, max_file: int) -> Params:
    """All of a request's parameters: query string, then the body's on top. An uploaded file
    over `max_file` bytes (or a body over the application's client_max_size) answers 413."""
    params = Params(values=dict(request.query))
    if request.method != "POST" or not request.can_read_body:
        return params
    content_type = request.content_type
    try:
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON") from None
            if not isinstance(body, dict):
                raise bad_request("JSON body must be an object")
            params.values.update(body)
        elif content_type == "multipart/form-data":
            await _read_multipart(request, params, max_file)
        else:
            form = await request.post()
            params.values.update({k: v for k, v in form.items() if isinstance(v, str)})
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, TOO_LARGE) from None
    return params


async def _read_multipart(request: web.Request, params: Params, max_file: int) -> None:
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or not part.name:
            continue
        if part.filename is None:
            params.values[part.name] = await part.text()
            continue
        chunks, size = [], 0
        while chunk := await part.read_chunk():
            size += len(chunk)
            if size > max_file:
                raise ApiError(413, TOO_LARGE)
            chunks.append(chunk)
        data = bytes(part.decode(b"".join(chunks)))
        ctype = part.headers.get("Content-Type")
        params.files[part.name] = Upload(data, part.filename, ctype)


def upload(params: Params, name: str) -> Upload | str:
    """The file of a sendPhoto/sendDocument-like call: an upload (directly or through an
    attach:// reference) or a file_id / URL string."""
    if name in params.files:
        return params.files[name]
    value = params.text(name)
    if not value:
        raise bad_request(f"there is no {name} in the request")
    if value.startswith("attach://"):
        attached = params.files.get(value.removeprefix("attach://"))
        if attached is None:
            raise bad_request(f"wrong HTTP URL specified: can't find attached {name}")
        return attached
    return value
