import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orders.diagram import render_dot, render_mermaid


class Command(BaseCommand):
    help = "Writes docs/order-states.{dot,md,svg} from the FSM in orders/fsm.py (svg needs graphviz `dot`)."

    def add_arguments(self, parser):
        parser.add_argument("--out", default=str(settings.BASE_DIR / "docs"), help="directory to write to")
        parser.add_argument("--check", action="store_true", help="fail if the committed files are out of date")

    def handle(self, *args, out, check, **options):
        out = Path(out)
        texts = {out / "order-states.dot": render_dot(), out / "order-states.md": render_mermaid()}
        if check:
            stale = [str(p) for p, text in texts.items() if not p.exists() or p.read_text() != text]
            if stale:
                raise CommandError(f"Out of date: {', '.join(stale)}; run manage.py order_state_diagram.")
            self.stdout.write("State diagram is up to date.")
            return
        out.mkdir(parents=True, exist_ok=True)
        for path, text in texts.items():
            path.write_text(text)
            self.stdout.write(f"wrote {path}")
        dot = shutil.which("dot")
        if dot is None:
            self.stderr.write("graphviz `dot` not found: wrote the .dot and Mermaid forms only "
                              "(apt-get install graphviz to render the .svg).")
            return
        svg = out / "order-states.svg"
        subprocess.run([dot, "-Tsvg", str(out / "order-states.dot"), "-o", str(svg)], check=True)
        self.stdout.write(f"wrote {svg}")
