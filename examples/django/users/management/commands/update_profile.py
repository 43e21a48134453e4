from users import domain
from users.management.event_command import EventCommand

FIELDS = ("first_name", "last_name", "phone")


class Command(EventCommand):
    help = "Updates a user's first name, last name and/or phone (UserProfileUpdated)."

    def add_event_arguments(self, parser):
        parser.add_argument("user_id", type=int)
        for field in FIELDS:
            parser.add_argument("--" + field.replace("_", "-"))

    def append(self, **options):
        changes = {field: options[field] for field in FIELDS if options[field] is not None}
        return domain.update_profile(options["user_id"], **changes)
