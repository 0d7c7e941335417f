from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from webui.forms import Form
from webui.services.knowledge import MAX_DESCRIPTION, MAX_NAME


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
    file_id = SelectField("File", choices=[], validate_choice=False)
    submit = SubmitField("Add file")
