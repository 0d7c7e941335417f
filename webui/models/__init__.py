"""SQLAlchemy models, one module per area; import them from here."""

from webui.models.accounts import Group, SettingRow, User, group_members
from webui.models.audit import AuditEvent  # noqa: F401
from webui.models.base import new_id, now
from webui.models.chat import ModelAccess, Usage  # noqa: F401
from webui.models.files import File, FileChunk, Knowledge, knowledge_files, knowledge_groups  # noqa: F401,E501
from webui.models.keys import ApiKey

__all__ = ["ApiKey", "Group", "SettingRow", "User", "group_members", "new_id", "now"]
