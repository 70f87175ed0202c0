"""`manage.py preview PROMPT.json --protocol chat|responses|messages|gemini`: the exact request body.

The same path as the page: document.normalize -> build_prompt (media from files next to the
document, type read from the bytes) -> protocols.render. stdout gets exactly
RenderedRequest.body_bytes() (no trailing newline), or with --display the elided, indented form
the page shows (with a newline). Everything else goes to stderr: why the request cannot be sent
(one line per reason, naming the part), notes about what was changed, and with --headers the
request line and headers (API key masked).

Exit status: 0 the body was printed; 1 the prompt cannot be sent to this target (a refused part or
setting, a missing variable, a missing or unreadable media file, a malformed document or archive);
2 the command line is wrong (unknown option, bad --var, PROMPT file not found).

No database is used: this command works on a fresh checkout with nothing migrated.
"""

from __future__ import annotations

import re
import sys
import zipfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from playground.prompts.document import is_placeholder_problem

DEFAULT_MODELS = {
    "chat": "gpt-4o",
    "responses": "gpt-4.1",
    "messages": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
}
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class CliPath(str):
    """A media path given with --var name=@path: relative to the current folder, not the prompt's."""


class _Sources:
    """The document's media from its folder; --var media from the command line's paths."""

    def __init__(self, document_source, cli_source):
        self.document_source = document_source
        self.cli_source = cli_source

    def media_part(self, ref: Any, **kwargs):
        source = self.cli_source if isinstance(ref, CliPath) else self.document_source
        return source.media_part(str(ref) if isinstance(ref, CliPath) else ref, **kwargs)


class Command(BaseCommand):
    help = (
        "Print the exact request body a provider protocol would receive for a prompt document "
        "(PROMPT.json, or a prompt export .zip). Reasons it cannot be sent go to stderr, with exit status 1."
    )
    requires_system_checks = []  # no database, no checks: runs on a fresh, unmigrated checkout
    requires_migrations_checks = False

    def create_parser(self, prog_name, subcommand, **kwargs) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.epilog = (
            "Examples: manage.py preview prompt.json --protocol chat | "
            "manage.py preview prompt.json --protocol messages --display --var subject=cat --var photo=@cat.png"
        )
        return parser

    def add_arguments(self, parser):
        parser.add_argument("prompt", metavar="PROMPT", help="PROMPT.json (media paths relative to it) or an export .zip")
        parser.add_argument("--protocol", required=True, choices=list(DEFAULT_MODELS), help="the provider protocol")
        parser.add_argument("--model", help="model name (default: " + ", ".join(f"{p} {m}" for p, m in DEFAULT_MODELS.items()) + ")")
        parser.add_argument(
            "--var", action="append", default=[], metavar="NAME=VALUE",
            help="a variable's value (repeatable); NAME=@path sets a media variable to a file "
                 "(relative to the current folder); NAME=@@text is the text @text",
        )
        parser.add_argument("--gateway", action="store_true",
                            help="OpenAI-compatible gateway extensions (chat only): video_url, PDF URLs, more audio formats")
        parser.add_argument("--api-version", help="anthropic-version header (messages), or the API version path (gemini)")
        parser.add_argument("--display", action="store_true", help="print the elided, indented form the page shows instead")
        parser.add_argument("--headers", action="store_true", help="print the request line and headers (key masked) to stderr")
        parser.add_argument("--apply-fallbacks", action="store_true",
                            help="when a part is refused and a variant or key frames would carry it, use them (said on stderr)")

    # --- output -------------------------------------------------------------------------------

    def say(self, line: str) -> None:
        self.stderr.write(line, ending="\n")

    def write_body(self, data: bytes) -> None:
        stream = getattr(self.stdout, "_out", self.stdout)
        buffer = getattr(stream, "buffer", None)
        if buffer is None:  # e.g. call_command(stdout=io.StringIO())
            stream.write(data.decode("utf-8"))
            return
        stream.flush()
        buffer.write(data)
        buffer.flush()

    # --- the command ----------------------------------------------------------------------------

    def handle(self, *args, **options):
        try:
            code = self.preview(options)
        except BrokenPipeError:  # e.g. `| head`: the reader went away
            code = 1
        if code:
            sys.exit(code)

    def preview(self, options) -> int:
        from playground.prompts import transfer
        from playground.prompts.document import DocumentError, normalize
        from playground.prompts.sources import FileSource
        from playground.protocols import Target

        protocol = options["protocol"]
        path = Path(options["prompt"])
        if not path.is_file():
            self.say(f"error: {path}: no such file.")
            return 2
        try:
            values = self.parse_vars(options["var"])
        except ValueError as exc:
            self.say(f"error: {exc}")
            return 2
        target = Target(
            protocol,
            options["model"] or DEFAULT_MODELS[protocol],
            gateway=options["gateway"],
            api_version=options["api_version"] or None,
        )
        pixels = settings.MAX_IMAGE_PIXELS
        with ExitStack() as stack:
            label = path.name
            try:
                if zipfile.is_zipfile(path):
                    unpacked = stack.enter_context(transfer.unpacked(path))
                    raw, folder, confine = unpacked.document, unpacked.folder, True
                    label = f"{path.name}: {transfer.PROMPT_ENTRY}"
                else:
                    raw = transfer.parse_json(path.read_bytes(), path.name)
                    folder, confine = path.resolve().parent, False
            except transfer.ImportRefused as exc:
                self.say(f"error: {exc}")
                return 1
            try:
                doc = normalize(raw)
            except DocumentError as exc:
                self.say(f"error: {label}: {exc}")
                return 1
            source = _Sources(FileSource(folder, confine=confine, max_image_pixels=pixels),
                              FileSource(Path.cwd(), max_image_pixels=pixels))
            built, rendered = self.build_and_render(doc, source, values, target, options["apply_fallbacks"])

            if options["headers"]:
                self.say(f"{rendered.method} {rendered.url}")
                for name, value in rendered.headers.items():
                    self.say(f"{name}: {value}")
                size = rendered.body_size()
                if size is not None and built.ok and rendered.ok:
                    self.say(f"Content-Length: {size}")
            for note in rendered.notes:
                self.say(f"{'warning' if note.level == 'warning' else 'note'}: {note.where}: {note.message}")
            for problem in rendered.problems:
                if problem.level != "error":
                    self.say(f"warning: {problem.where}: {problem.message}")

            reasons = [f"error: {issue.where}: {issue.message}" for issue in built.issues]
            reasons += [f"error: {p.where}: {p.message}" for p in rendered.problems
                        if p.level == "error" and not is_placeholder_problem(p)]
            reasons += [self.refusal_line(r, options["apply_fallbacks"]) for r in rendered.refusals]
            if options["display"]:
                self.write_body(rendered.display().encode("utf-8") + b"\n")
            if reasons:
                for line in reasons:
                    self.say(line)
                self.say(
                    f"preview: the {protocol} request for {target.model} cannot be sent "
                    f"({len(reasons)} reason{'s' if len(reasons) > 1 else ''} above)."
                )
                return 1
            if not options["display"]:
                self.write_body(rendered.body_bytes())
        return 0

    def parse_vars(self, items: list[str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for item in items:
            name, eq, value = item.partition("=")
            name = name.strip()
            if not eq or not VARIABLE_NAME.match(name):
                raise ValueError(f"--var {item!r}: expected NAME=VALUE (NAME: letters, digits, _ . -).")
            if value.startswith("@@"):
                values[name] = value[1:]
            elif value.startswith("@"):
                if not value[1:]:
                    raise ValueError(f"--var {item!r}: give a file after @.")
                values[name] = {"media": CliPath(Path(value[1:]).expanduser().resolve())}
            else:
                values[name] = value
        return values

    def build_and_render(self, doc: dict, source, values: dict, target, apply_fallbacks: bool):
        """The prompt as ``target`` gets it: its per-target choices ("variant_for") resolved, and with
        --apply-fallbacks fitted as a run fits it (prompts/fitting.py: the same rounds and words)."""
        from playground.prompts import fitting
        from playground.prompts.columns import column_key
        from playground.prompts.document import build_prompt, for_target
        from playground.protocols import render

        if apply_fallbacks:
            fitted = fitting.fit(doc, values, source, target)
            for change in fitted.changes:
                self.say(f"applied: {change.text}")
            return fitted.built, fitted.rendered
        built = build_prompt(for_target(doc, column_key(target)), source, values)
        return built, render(built.prompt, built.values, target)

    @staticmethod
    def refusal_line(refusal, applying: bool) -> str:
        line = f"refused: {refusal.where}: {refusal.reason}"
        fallback = refusal.fallback
        if fallback is not None:
            hint = " (--apply-fallbacks does this)" if fallback.kind in ("variant", "keyframes") and fallback.spec and not applying else ""
            if fallback.kind == "option" and fallback.spec == "clamp_temperature":
                hint = ""
            line += f" Possible: {fallback.label}{hint}."
        return line
