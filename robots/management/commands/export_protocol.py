import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from canvas.models import Workflow
from canvas.validation import validate
from robots.export import ExportError, export_protocol


class Command(BaseCommand):
    help = "Write a workflow (a saved one by NAME, or FILE.json) as an Opentrons Python protocol."

    def add_arguments(self, parser):
        parser.add_argument("workflow", help="NAME of a saved workflow, or FILE.json")
        parser.add_argument("-o", "--output", required=True, help="FILE.py to write")

    def handle(self, workflow, output, **options):
        path = Path(workflow)
        if path.suffix == ".json" and path.exists():
            document, source = json.loads(path.read_text()), path.name
        else:
            found = Workflow.objects.filter(name=workflow).first()
            if found is None:
                raise CommandError(f"no workflow named {workflow!r} and no file {workflow}")
            document, source = found.document, f"workflow {found.pk}, version {found.version}"
        report = validate(document)
        if not report.valid:
            for issue in report.issues:
                self.stderr.write(f"  {issue}")
            raise CommandError("the workflow has problems; fix them first")
        try:
            text = export_protocol(report.document, source)
        except ExportError as exc:
            raise CommandError(str(exc))
        Path(output).write_text(text)
        self.stdout.write(f"wrote {output}")
