"""Every model, imported so that metadata (and Alembic) sees them all."""
from models.base import Base, SoftDeleteMixin, TimestampMixin, as_utc, isoformat, utcnow  # noqa: F401
from models.user import ApiToken, LoginSession, Role, User  # noqa: F401
import models.catalogue  # noqa: F401,E402
import models.playlist  # noqa: F401,E402
import models.soundboard  # noqa: F401,E402
import models.tracks  # noqa: F401,E402
import models.cache  # noqa: F401,E402
import models.search  # noqa: F401,E402
