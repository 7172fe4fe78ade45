"""Forms of the staff console."""
import re
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from annotations.defects import DefectClass, format_classes, parse_classes
from annotations.models import ImportFormat, ImportKind, Job
from annotations.quality.preannotations import IGNORE
from common.forms import AccessibleForm
from common.validators import validate_printable
from workforce.validation import validate_languages


class GuidelineLanguagesField(forms.CharField):
    """Language codes typed with commas or spaces between them ("en, es"), as a list of known codes."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("label", "Guideline languages")
        kwargs.setdefault("help_text", "Language codes the job's guidelines are written in, e.g. en, es, fil.")
        super().__init__(max_length=500, **kwargs)

    def prepare_value(self, value: object) -> object:
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value: object) -> list[str]:
        return [code for code in re.split(r"[\s,;]+", super().to_python(value)) if code]

    def validate(self, value: list[str]) -> None:
        if not value and not self.required:
            return
        try:
            validate_languages(value)
        except forms.ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None


class JobListingForm(AccessibleForm):
    """A job's public listing: open or closed for applications, and its guidelines' languages."""

    listed = forms.BooleanField(required=False, label="Listed: open for applications on the public job list")
    guideline_languages = GuidelineLanguagesField()


class JobExamplesForm(AccessibleForm):
    """Gold photos made public examples: the listing's close-ups are cut from them."""

    task_keys = forms.CharField(max_length=2000, label="Photos to make public examples",
                                help_text="Task keys of gold photos no batch has used, comma-separated. For good: "
                                          "a public example is never hidden gold again.")

    def clean_task_keys(self) -> list[str]:
        return [key for key in re.split(r"[\s,;]+", self.cleaned_data["task_keys"]) if key]


class JobCreateForm(AccessibleForm):
    SOURCES = [("manifest", "A sample job's manifest.json"), ("folder", "A folder of photos under var/"),
               ("zip", "An uploaded ZIP of photos")]

    name = forms.CharField(max_length=200, validators=[validate_printable])
    client = forms.CharField(max_length=200, validators=[validate_printable])
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), max_length=20_000,
                                   help_text="Markdown; shown to contractors in Label Studio.")
    source_kind = forms.ChoiceField(choices=SOURCES, widget=forms.RadioSelect, initial="manifest", label="Photos from")
    source_path = forms.CharField(max_length=500, label="Path", required=False,
                                  help_text="A manifest.json or a folder under var/, e.g. var/sample/manifest.json.")
    photos_zip = forms.FileField(label="ZIP of photos", required=False,
                                 widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
                                 help_text="For an uploaded ZIP: the photos (.jpg, .png, .tif, .webp), checked and "
                                           "made into the job in the background.")
    preannotations = forms.FileField(label="Pre-annotations (optional)", required=False,
                                     help_text="With a ZIP of photos: a Label Studio JSON export, a COCO JSON (you "
                                               "map its categories once the photos are in) or a ZIP of PNG masks, "
                                               "imported before the batches are published.")
    preannotations_format = forms.ChoiceField(
        required=False, label="Pre-annotation format", choices=[("", "—"), *ImportFormat.choices])
    classes = forms.CharField(widget=forms.Textarea(attrs={"rows": 7}), initial=format_classes(),
                              label="Label classes", help_text="One per line: key | Label | #colour.")
    batch_size = forms.IntegerField(min_value=1, max_value=500, initial=10)
    gold_rate = forms.DecimalField(min_value=0, max_value=1, decimal_places=3, initial=Decimal("0.1"),
                                   help_text="Share of hidden gold tasks added to each batch.")
    quality_threshold = forms.DecimalField(min_value=0, max_value=1, decimal_places=3, initial=Decimal("0.5"))
    annotators_per_photo = forms.IntegerField(
        min_value=1, max_value=5, initial=1, required=False,
        help_text="Each photo goes to this many different contractors, each in a batch of their own (1-5).")
    hourly_rate = forms.DecimalField(min_value=Decimal("0.01"), max_digits=8, decimal_places=2,
                                     initial=Decimal(settings.DEFAULT_HOURLY_RATE_USD), label="Hourly rate (USD)")
    weekly_cap_hours = forms.DecimalField(min_value=1, max_value=60, decimal_places=2,
                                          initial=settings.DEFAULT_WEEKLY_CAP_HOURS)
    listed = forms.BooleanField(required=False, label="Listed: open for applications on the public job list")
    guideline_languages = GuidelineLanguagesField(initial=["en"], required=False,
                                                  help_text="Language codes the job's guidelines are written in, "
                                                            "e.g. en, es, fil (empty: en).")


    def clean(self) -> dict:
        data = super().clean()
        zipped = data.get("source_kind") == "zip"
        if zipped and not data.get("photos_zip"):
            self.add_error("photos_zip", "Choose the ZIP of photos.")
        if not zipped and not data.get("source_path"):
            self.add_error("source_path", "This field is required.")
        if data.get("preannotations") and not zipped:
            self.add_error("preannotations", "Only with an uploaded ZIP of photos; import into a job from its page.")
        if data.get("preannotations") and not data.get("preannotations_format"):
            self.add_error("preannotations_format", "Say which format the pre-annotations are in.")
        return data

    def clean_classes(self) -> tuple[DefectClass, ...]:
        try:
            return parse_classes(self.cleaned_data["classes"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


class ReviewForm(AccessibleForm):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("rework", "Send back for rework"),
                                          ("promote", "Promote to gold (accepted only)")], widget=forms.RadioSelect)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000,
                              validators=[validate_printable], help_text="Required for rework: what to fix.")

    def __init__(self, *args: object, merged: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if merged:  # the photo has several annotators: their merged mask may be what is delivered
            self.fields["decision"].choices = [
                *self.fields["decision"].choices,
                ("merge", "Accept the merged mask of the photo's annotators (each one's work is accepted)")]


class QualificationForm(AccessibleForm):
    qualification_tasks = forms.IntegerField(
        min_value=0, max_value=50, label="Qualification photos",
        help_text="Gold photos each new applicant labels in Label Studio to qualify, scored against gold; "
                  "0: applicants do not qualify on this job.")


def _within_import_limit(upload: UploadedFile) -> UploadedFile:
    if upload.size > settings.GOLD_IMPORT_MAX_BYTES:
        raise forms.ValidationError(f"At most {settings.GOLD_IMPORT_MAX_BYTES // (1024 * 1024)} MB.")
    return upload


class GoldImportForm(AccessibleForm):
    export = forms.FileField(label="Label Studio JSON export or ZIP of PNG masks",
                             widget=forms.ClearableFileInput(attrs={"accept": ".json,.zip,application/json,"
                                                                              "application/zip"}),
                             help_text="A project exported as JSON from Label Studio (each task's annotation, ground "
                                       "truth first, becomes that photo's new gold), or a ZIP of PNG masks named "
                                       "<task key>_<class key>.png or <task key>/<class key>.png, each the size of its "
                                       "photo (a pixel above zero paints the class).")

    def clean_export(self) -> UploadedFile:
        return _within_import_limit(self.cleaned_data["export"])


IMPORT_KINDS = [(ImportKind.PREDICTIONS, ImportKind.PREDICTIONS.label), (ImportKind.GOLD, ImportKind.GOLD.label)]


class PreannotationUploadForm(AccessibleForm):
    """The job page's upload of a client's pre-annotations (or gold); a COCO file's categories are mapped next."""

    file = forms.FileField(label="Pre-annotation file",
                           widget=forms.ClearableFileInput(attrs={"accept": ".json,.zip,application/json,"
                                                                            "application/zip"}),
                           help_text="A Label Studio JSON export (each task's prediction, else its annotation), a "
                                     "COCO instance segmentation JSON (RLE or polygons), or a ZIP of PNG masks named "
                                     "<task key>_<class key>.png or <task key>/<class key>.png.")
    format = forms.ChoiceField(choices=ImportFormat.choices, label="Format")
    kind = forms.ChoiceField(choices=IMPORT_KINDS, initial=ImportKind.PREDICTIONS, label="Import as",
                             widget=forms.RadioSelect)

    def clean_file(self) -> UploadedFile:
        return _within_import_limit(self.cleaned_data["file"])


class CategoryMapForm(AccessibleForm):
    """One select per COCO category of the uploaded file: the defect class it becomes, or ignore."""

    token = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=IMPORT_KINDS, widget=forms.HiddenInput)

    def __init__(self, *args: object, categories: dict[int, str], classes: list[dict], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "Choose…"), *[(c["key"], c["label"]) for c in classes], (IGNORE, "Ignore (drop its masks)")]
        by_name = {c["key"]: c["key"] for c in classes} | {c["label"].lower(): c["key"] for c in classes}
        for cid, name in sorted(categories.items()):
            self.fields[f"category_{cid}"] = forms.ChoiceField(
                choices=choices, label=f"COCO category {cid}: {name}",
                initial=by_name.get(name.lower().replace(" ", "_")) or by_name.get(name.lower()))

    def category_map(self) -> dict[int, str]:
        return {int(name.removeprefix("category_")): value for name, value in self.cleaned_data.items()
                if name.startswith("category_")}


class DeliveryForm(forms.Form):
    partial = forms.BooleanField(required=False, label="Deliver without the photos that have no accepted mask yet")


class _JobFilterForm(forms.Form):
    """A console list's filters: one job of the newest first (or every job) and a search; a value the form refuses
    is left out (the list shows everything)."""

    job = forms.ModelChoiceField(queryset=None, required=False, empty_label="Every job")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["job"].queryset = Job.objects.order_by("-created_at")

    def criteria(self) -> dict[str, object]:
        """Keyword arguments of the list's selector."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {"job_id": data["job"].pk if data["job"] else None, "search": data["q"].strip(),
                **{name: data[name] or field.initial for name, field in self.fields.items()
                   if name not in ("job", "q")}}


class ReviewQueueFilterForm(_JobFilterForm):
    """The review queue's filters (the review_queue selector's arguments)."""

    q = forms.CharField(max_length=100, required=False, label="Find", help_text="contractor or photo")
    flag = forms.ChoiceField(required=False, initial="", choices=[
        ("", "Any"), ("unchanged", "Pre-annotation submitted unchanged"), ("not-holder", "Not the batch holder")])
    order = forms.ChoiceField(required=False, initial="oldest", choices=[
        ("oldest", "Oldest first"), ("newest", "Newest first"), ("batch", "By job and batch")])


class StaleFilterForm(_JobFilterForm):
    """The stale-work page's filters (the stale_batches selector's arguments)."""

    q = forms.CharField(max_length=100, required=False, label="Find", help_text="holder's email or name")
