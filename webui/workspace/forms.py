from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from webui.forms import Form
from webui.services.knowledge import MAX_DESCRIPTION, MAX_NAME

MAX_TEXT_TITLE = 100
MAX_TEXT = 100_000  # characters: well inside the request body limit even as UTF-8


class UploadForm(Form):
    file = FileField("File")
    extract = BooleanField("Extract and index the text for retrieval", default=True)
    submit = SubmitField("Upload")


class KnowledgeForm(Form):
    name = StringField(
        "Name",
        validators=[DataRequired(message="Give the collection a name."), Length(max=MAX_NAME)],
    )
    description = TextAreaField("Description", validators=[Length(max=MAX_DESCRIPTION)])
    submit = SubmitField("Save")


class AddFileForm(Form):
    file_id = SelectField("Already in your Files", choices=[], validate_choice=False)
    submit = SubmitField("Add file")


class TextForm(Form):
    """Text typed or pasted on a collection's page, kept as a file of its own."""

    title = StringField(
        "Title",
        validators=[
            DataRequired(message="Give the text a title; it becomes the file's name."),
            Length(max=MAX_TEXT_TITLE),
        ],
    )
    kind = SelectField(
        "Kept as", choices=[("txt", "Plain text (.txt)"), ("md", "Markdown (.md)")], default="md"
    )
    content = TextAreaField(
        "Text",
        validators=[
            DataRequired(message="Write or paste the text to add."),
            Length(max=MAX_TEXT, message=f"The text must be at most {MAX_TEXT:,} characters."),
        ],
    )
    submit = SubmitField("Add text")
