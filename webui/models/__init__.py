"""SQLAlchemy models, one module per area; import them from here."""

from webui.models.accounts import ROLES, BrowserSession, Group, User, group_members
from webui.models.audit import AuditEvent
from webui.models.base import new_id, now
from webui.models.chats import Chat
from webui.models.files import File, FileChunk, Knowledge, knowledge_files, knowledge_groups
from webui.models.keys import ApiKey
from webui.models.model_access import ModelAccess
from webui.models.rate_limits import RateLimitCounter
from webui.models.settings import SettingRow
from webui.models.usage import Usage

__all__ = [
    "ROLES",
    "ApiKey",
    "BrowserSession",
    "AuditEvent",
    "Chat",
    "File",
    "FileChunk",
    "Group",
    "Knowledge",
    "ModelAccess",
    "RateLimitCounter",
    "SettingRow",
    "Usage",
    "User",
    "group_members",
    "knowledge_files",
    "knowledge_groups",
    "new_id",
    "now",
]
