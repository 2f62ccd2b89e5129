"""A local SMTP server (aiosmtpd) that writes every received message to a folder as .eml."""

from __future__ import annotations

import time
import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class FolderHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        (self.folder / name).write_bytes(envelope.content)
        return "250 Message accepted for delivery"


def start_mail_sink(folder: Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    controller = Controller(FolderHandler(folder), hostname=host, port=port)
    controller.start()
    return controller


def read_messages(folder: Path, limit: int = 100) -> list[dict[str, Any]]:
    """Newest first: headers, the plain-text body and the HTML body of each stored message."""
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.eml"), reverse=True)[:limit]
    messages = []
    for path in files:
        message: EmailMessage = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        messages.append({
            "name": path.stem,
            "to": message["To"], "subject": message["Subject"], "date": message["Date"],
            "text": text.get_content() if text else "",
            "html": html.get_content() if html else "",
        })
    return messages
