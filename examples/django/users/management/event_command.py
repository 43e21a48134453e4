"""What the users commands share: append one event, print it, wait until projectord has projected it."""
import urllib.error

from django.core.management.base import BaseCommand, CommandError

from projectord_wait import ProjectionLag, wait_for
from users import domain


class EventCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--no-wait", action="store_true", help="do not wait for projectord's read models")
        self.add_event_arguments(parser)

    def add_event_arguments(self, parser):
        raise NotImplementedError

    def append(self, **options):
        """Appends the command's event and returns its EventStoreRecord."""
        raise NotImplementedError

    def handle(self, *args, **options):
        try:
            record = self.append(**options)
        except domain.UserError as error:
            raise CommandError(error) from error
        self.stdout.write(
            f"user {record.aggregate_id}: {record.event_type} (version {record.version}, position {record.id})"
        )
        if not options["no_wait"]:
            try:
                wait_for(record.id)
            except ProjectionLag as error:
                raise CommandError(f"the event is stored, but {error}") from error
            except urllib.error.URLError as error:
                unreachable = f"the event is stored, but projectord cannot be reached: {error.reason}"
                raise CommandError(unreachable) from error
