"""A client's job from end to end in real Chromium, on the real services (PostgreSQL, Redis, the Celery worker,
Label Studio): staff upload the client's photos (ZIP) and COCO pre-annotations and map its categories; the
batches are published with them as predictions; two contractors open their batch from the dashboard through the
gateway (LabelCrew signs them in to Label Studio), submit every photo in Label Studio's own labelling page and hand
their batch in; staff review
photo by photo and send one back; its holder reads the comment on the dashboard, paints the fix in Label Studio
and hands in again; staff accept it and deliver; the ZIP's COCO, decoded with pycocotools, equals its PNGs, and
the photos nobody changed come back exactly as the client's COCO drew them."""
import io
import json
import re
import time
import zipfile
from pathlib import Path
from uuid import uuid4

import httpx
import numpy as np
import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pycocotools import mask as coco_mask
from pytest_django.live_server_helper import LiveServer

from annotations import labelstudio
from annotations.models import Annotation, Batch, BatchState, BatchTask, Delivery, Job, ReviewState
from annotations.services.gold import masks_of_task
from tests.annotations.test_jobs import sample  # noqa: F401 - the module-scoped sample job fixture
from tests.e2e.test_console_flow import label_studio_account, sign_in_as_staff, wait_until_published
from tests.factories import TEST_PASSWORD, UserFactory, contractor_in_state
from workforce.models import OnboardingState

COMMENT = "Paint the pit near the top edge as well."
POLYGONS = {"scratch": [[40, 60, 300, 70, 300, 76, 40, 66]], "crack": [[400, 200, 460, 210, 450, 290, 395, 280]]}
CATEGORIES = [{"id": 11, "name": "Scratch"}, {"id": 12, "name": "crack"}, {"id": 13, "name": "dust"}]


def client_files(sample: Path, tmp_path: Path) -> tuple[Path, Path, dict[str, dict[str, np.ndarray]]]:  # noqa: F811
    """The client's ZIP of photos and its model's COCO file (a scratch and a crack polygon per photo, and a "dust"
    category the operator ignores), with the masks pycocotools paints from it, per photo and class."""
    photos = sorted((sample / "images").glob("*.jpg"))
    archive = tmp_path / "client-photos.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for photo in photos:
            out.write(photo, f"screens/{photo.name}")
    images, annotations, drawn = [], [], {}
    for image_id, photo in enumerate(photos, start=1):
        with Image.open(photo) as opened:
            width, height = opened.size
        images.append({"id": image_id, "file_name": photo.name, "width": width, "height": height})
        drawn[photo.stem] = {}
        for category_id, (key, polygons) in zip((11, 12), POLYGONS.items(), strict=True):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category_id,
                                "segmentation": polygons, "iscrowd": 0})
            rle = coco_mask.merge(coco_mask.frPyObjects(polygons, height, width))
            drawn[photo.stem][key] = coco_mask.decode(rle).astype(bool)
        annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 13,
                            "segmentation": [[5, 5, 15, 5, 15, 15]], "iscrowd": 0})
    coco = tmp_path / "model-predictions.json"
    coco.write_text(json.dumps({"images": images, "annotations": annotations, "categories": CATEGORIES}))
    return archive, coco, drawn


def sign_in(page: Page, live_server: LiveServer, email: str) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email:", exact=True).fill(email)
    page.get_by_label("Password:", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def submit_in_label_studio(page: Page, url: str, regions: int) -> None:
    """Open one photo in Label Studio's labelling page; its annotation starts from the client's pre-annotation
    (once its `regions` are listed, the draft holds them); submit it as it is. Label Studio's page now and then
    comes up without the prediction (seen on the first photo after signing in); as a person would, reload it."""
    submit = page.get_by_role("button", name=re.compile(r"^Submit"))
    listed = page.get_by_role("tree").get_by_role("treeitem")
    for attempt in range(3):
        page.goto(url)
        expect(submit).to_be_enabled(timeout=30_000)
        try:
            expect(listed).to_have_count(regions, timeout=10_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    with page.expect_response(lambda r: r.request.method == "POST" and "/annotations" in r.url
                              and r.status == 201):
        submit.click()


def paint_the_fix(page: Page, url: str) -> None:
    """Open the photo sent back, choose Pit (its hotkey is 2), paint a stroke with the brush near the top edge, and
    update the annotation."""
    page.goto(url)
    update = page.get_by_role("button").filter(has_text=re.compile(r"^Update$"))  # disabled until something changes
    expect(update).to_be_visible(timeout=30_000)
    page.get_by_text("Pit", exact=True).first.click()
    stage = page.locator(".konvajs-content").first.bounding_box()
    assert stage is not None
    page.mouse.move(stage["x"] + stage["width"] * 0.3, stage["y"] + stage["height"] * 0.12)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(stage["x"] + stage["width"] * (0.3 + step * 0.03), stage["y"] + stage["height"] * 0.12)
    page.mouse.up()
    expect(update).to_be_enabled()
    with page.expect_response(lambda r: r.request.method == "PATCH" and "/api/annotations/" in r.url
                              and r.status == 200):
        update.click()


def same_masks(one: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> bool:
    return one.keys() == other.keys() and all(np.array_equal(one[label], other[label]) for label in one)


def predictions_in_studio(ls_task_id: int) -> list[list[dict]]:
    task = httpx.get(f"{settings.LABEL_STUDIO_URL}/api/tasks/{ls_task_id}/", timeout=30,
                     headers={"Authorization": f"Token {settings.LABEL_STUDIO_API_KEY}"}).json()
    return [p["result"] for p in task["predictions"]]


def wait_for(condition: object, what: str, *, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"Waited {seconds} s for {what}; see var/test-logs/celery-worker.log")
        time.sleep(0.5)


def review(page: Page, live_server: LiveServer, annotation: Annotation, decision: str, comment: str = "") -> None:
    page.goto(f"{live_server.url}/console/review/")
    page.get_by_role("link", name=f"#{annotation.ls_annotation_id}", exact=True).click()
    page.get_by_role("radio", name=decision, exact=True).check()
    if comment:
        page.get_by_label("Comment").fill(comment)
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator("ul.messages")).to_contain_text(f"Annotation {annotation.ls_annotation_id}")


@pytest.mark.labelstudio
@pytest.mark.django_db(transaction=True)
def test_a_client_job_goes_from_the_clients_files_to_a_delivered_zip_through_the_browser(
    browser: Browser, live_server: LiveServer, celery_worker: str, label_studio: str, gateway: str,
    artifacts: Path, sample: Path, tmp_path: Path,  # noqa: F811
) -> None:
    archive, coco, drawn = client_files(sample, tmp_path)
    crew = [contractor_in_state(OnboardingState.ACTIVE, user=UserFactory(email=f"crew-{uuid4().hex[:8]}@example.org"),
                                display_name=name) for name in ("Amani", "Luz")]
    for member in crew:
        EmailAddress.objects.create(user=member.user, email=member.user.email, verified=True, primary=True)
        label_studio_account(member)
    contexts: list[BrowserContext] = []

    def new_page() -> Page:
        contexts.append(browser.new_context(viewport={"width": 1400, "height": 900}))
        contexts[-1].set_default_timeout(20_000)
        return contexts[-1].new_page()

    staff = new_page()
    try:
        # 1. Staff make the job from the client's ZIP of photos and its COCO file, then map the COCO categories.
        sign_in_as_staff(staff, live_server, tmp_path)
        staff.goto(live_server.url + "/console/jobs/new/")
        staff.get_by_label("Name", exact=True).fill("Client screens")
        staff.get_by_label("Client", exact=True).fill("Refurb Co")
        staff.get_by_label("Instructions", exact=True).fill("Paint every defect, pixel by pixel.")
        staff.get_by_role("radio", name="An uploaded ZIP of photos").check()
        staff.get_by_label("ZIP of photos", exact=True).set_input_files(archive)
        staff.get_by_label("Pre-annotations (optional)").set_input_files(coco)
        staff.get_by_label("Pre-annotation format").select_option(label="COCO instance segmentation JSON")
        staff.get_by_label("Batch size", exact=True).fill("3")
        staff.get_by_label("Gold rate", exact=True).fill("0")
        staff.get_by_role("button", name="Create job and publish batches").click()
        expect(staff).to_have_url(re.compile(r"/console/imports/\d+/$"))
        mapping = staff.get_by_role("link", name="Map the COCO categories of model-predictions.json")
        expect(mapping).to_be_visible(timeout=60_000)  # the page reloads itself when the photos are checked
        job = Job.objects.get(name="Client screens")
        assert job.tasks.count() == 5
        assert not job.batches.filter(published_at__isnull=False).exists()  # held back for the pre-annotations
        mapping.click()
        expect(staff.get_by_label("COCO category 11: Scratch")).to_have_value("scratch")
        expect(staff.get_by_label("COCO category 12: crack")).to_have_value("crack")
        staff.get_by_label("COCO category 13: dust").select_option("ignore")
        staff.get_by_role("button", name="Confirm and import").click()
        expect(staff).to_have_url(re.compile(rf"/console/jobs/{job.pk}/$"))
        wait_until_published(staff, job, seconds=90)
        staff.reload()
        expect(staff.locator(".import-run").first.get_by_text("Done", exact=True)).to_be_visible()
        expect(staff.get_by_test_id("batch-states")).to_have_text("Batches: 2 open")
        staff.screenshot(path=artifacts / "client-job-page.png", full_page=True)
        for bt in BatchTask.objects.filter(batch__job=job).select_related("task"):
            # Label Studio holds the client's predictions on every task (it writes them just after the tasks).
            wait_for(lambda bt=bt: predictions_in_studio(bt.ls_task_id), "the task's prediction", seconds=20)
            assert predictions_in_studio(bt.ls_task_id) == [bt.task.prediction["result"]]
            assert {r["value"]["brushlabels"][0] for r in bt.task.prediction["result"]} == {"Scratch", "Crack"}

        # 2. Auto-assign: each batch goes to one of the crew.
        staff.goto(f"{live_server.url}/console/jobs/{job.pk}/capacity/")
        staff.get_by_role("button", name="Auto-assign open batches").click()
        expect(staff.locator("ul.messages")).to_contain_text("Auto-assigned 2 batch(es).")
        holders = {b.assigned_to for b in job.batches.select_related("assigned_to__user")}
        assert None not in holders

        # 3. Each holder labels every photo of their batch in Label Studio and hands it in from the dashboard.
        pages: dict[int, Page] = {}
        for member in holders:
            page = pages[member.pk] = new_page()
            sign_in(page, live_server, member.user.email)
            for batch in job.batches.filter(assigned_to=member):
                page.goto(live_server.url + "/dashboard/")
                project = labelstudio_url(page, batch)
                assert project.startswith(gateway)  # Label Studio only through the gateway
                page.get_by_test_id(f"batch-{batch.number}").get_by_test_id("label-in-label-studio").click()
                expect(page).to_have_url(re.compile(rf"^{re.escape(project)}"), timeout=20_000)
                for bt in batch.batch_tasks.select_related("task").order_by("id"):
                    submit_in_label_studio(page, f"{project}?task={bt.ls_task_id}",
                                           regions=len(bt.task.prediction["result"]))
                page.goto(live_server.url + "/dashboard/")
                page.get_by_test_id(f"batch-{batch.number}").get_by_role("button", name="Hand in").click()
                expect(page.locator("ul.messages")).to_contain_text("handed in for review")
        assert set(job.batches.values_list("state", flat=True)) == {BatchState.HANDED_IN}
        work = list(Annotation.objects.filter(batch_task__batch__job=job).select_related("batch_task__task")
                    .order_by("batch_task__task__key"))
        assert len(work) == 5
        for annotation in work:  # submitted as pre-annotated: the same pixels as the client's COCO drew
            task = annotation.batch_task.task
            assert same_masks(masks_of_task(annotation.result, task), masks_of_task(task.prediction["result"], task))

        # 4. Staff review photo by photo: one photo goes back with a comment, the others are accepted.
        sent_back, *accepted = work
        review(staff, live_server, sent_back, "Send back for rework", COMMENT)
        for annotation in accepted:
            review(staff, live_server, annotation, "Accept")
        fixer = sent_back.contractor
        assert Batch.objects.get(pk=sent_back.batch_task.batch_id).state == BatchState.REWORK

        # 5. Its holder reads the comment on the dashboard, paints the fix in Label Studio, and hands in again.
        page = pages[fixer.pk]
        page.goto(live_server.url + "/dashboard/")
        fix = page.get_by_test_id("to-fix")
        expect(fix).to_have_count(1)
        expect(fix).to_contain_text(f"To fix: photo {sent_back.batch_task.task.key}")
        expect(fix.get_by_test_id("rework-comment")).to_have_text(COMMENT)
        overlay = fix.get_by_role("img")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=overlay.element_handle())
        page.screenshot(path=artifacts / "client-job-dashboard-rework.png", full_page=True)
        paint_the_fix(page, fix.get_by_role("link", name="open it in Label Studio").get_attribute("href"))
        page.goto(live_server.url + "/dashboard/")
        batch = sent_back.batch_task.batch
        page.get_by_test_id(f"batch-{batch.number}").get_by_role("button", name="Hand in").click()
        expect(page.locator("ul.messages")).to_contain_text("handed in for review")
        sent_back.refresh_from_db()
        assert sent_back.review_state == ReviewState.PENDING
        assert sent_back.result != sent_back.batch_task.task.prediction["result"]
        review(staff, live_server, sent_back, "Accept")
        assert set(job.batches.values_list("state", flat=True)) == {BatchState.DONE}

        # 6. Staff deliver; the worker writes delivery 1; staff open its report and download the ZIP.
        staff.goto(f"{live_server.url}/console/jobs/{job.pk}/")
        deliveries = staff.get_by_role("region", name="Delivery to the client")
        expect(deliveries).to_contain_text("5 of 5 photos have an accepted mask.")
        deliveries.get_by_role("button", name="Deliver").click()
        wait_for(lambda: Delivery.objects.filter(job=job, state="done").exists(), "delivery 1 to be written")
        staff.goto(f"{live_server.url}/console/jobs/{job.pk}/")
        expect(staff.get_by_test_id("batch-states")).to_have_text("Batches: 2 done")
        expect(staff.get_by_label("Photos accepted: 5 of 5")).to_have_attribute("value", "5")
        deliveries.get_by_role("link", name="Report and client link").click()
        expect(staff.get_by_role("heading", level=1)).to_contain_text("Client screens: delivery 1")
        for thumbnail in staff.get_by_role("img").all():
            thumbnail.scroll_into_view_if_needed()
            staff.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
        staff.screenshot(path=artifacts / "client-job-delivery-report.png", full_page=True)
        with staff.expect_download() as download:
            staff.get_by_role("link", name="Download the ZIP").click()
        delivered = tmp_path / "delivery.zip"
        download.value.save_as(delivered)
    finally:
        for context in contexts:
            context.close()
        for project_id in Batch.objects.filter(ls_project_id__isnull=False).values_list("ls_project_id", flat=True):
            labelstudio.project_delete(project_id=project_id)

    # 7. The ZIP: per photo a 1-bit PNG per class; its COCO, decoded with pycocotools, is those PNGs exactly;
    #    the photos nobody changed are the client's COCO masks; the fixed one has the painted pit.
    classes = [c["key"] for c in job.label_classes]
    with zipfile.ZipFile(delivered) as opened:
        top = opened.namelist()[0].split("/")[0]
        delivered_coco = json.loads(opened.read(f"{top}/coco.json"))
        pngs = {name.removeprefix(f"{top}/masks/"): opened.read(name) for name in opened.namelist()
                if name.startswith(f"{top}/masks/")}
    assert len(pngs) == 5 * len(classes)
    names = {c["id"]: c["name"] for c in delivered_coco["categories"]}
    for image in delivered_coco["images"]:
        key = image["key"]
        for category_id, cls in names.items():
            with Image.open(io.BytesIO(pngs[f"{key}/{cls}.png"])) as png_image:
                assert png_image.mode == "1"
                png = np.asarray(png_image) > 0
            union = np.zeros_like(png)
            for instance in delivered_coco["annotations"]:
                if instance["image_id"] == image["id"] and instance["category_id"] == category_id:
                    segmentation = instance["segmentation"]
                    union |= coco_mask.decode({"size": segmentation["size"],
                                               "counts": segmentation["counts"].encode()}).astype(bool)
            assert np.array_equal(union, png), (key, cls)
            client = drawn[key].get(cls, np.zeros_like(png))
            if key == sent_back.batch_task.task.key and cls == "pit":
                assert png.sum() > client.sum() + 50  # the painted stroke
            elif key != sent_back.batch_task.task.key or cls in POLYGONS:
                assert np.array_equal(png, client), (key, cls)
    assert Delivery.objects.get(job=job).report["review"]["reworked"] == 1


def labelstudio_url(page: Page, batch: Batch) -> str:
    """The batch's Label Studio link as the contractor's dashboard gives it."""
    return page.get_by_test_id(f"batch-{batch.number}").get_by_role("link", name=re.compile(r", batch \d+$")
                                                                    ).get_attribute("href")

