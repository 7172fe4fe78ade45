"""What a client sends with a job, made from a sample job: its photos as one ZIP and its model's pre-annotations as a
COCO instance segmentation file (one compressed RLE per photo and painted class), the two files the new-job page
takes. The demo writes them under var/client/ so a new user can bring in a client's job through the browser."""
import json
import zipfile
from pathlib import Path

import numpy as np
from pycocotools import mask as coco_mask

from annotations.defects import DEFECT_CLASSES
from annotations.quality.labelstudio_json import masks_from_results

PHOTOS_ZIP = "client-photos.zip"
COCO_JSON = "client-coco.json"


def coco_from_sample(manifest_path: Path) -> tuple[dict, dict[int, str], list[dict]]:
    """(the COCO file, its category map, every RLE in it) from the sample job's predictions. Categories are named
    by class key, so the operator's mapping page preselects them."""
    root = manifest_path.parent
    key_of = {c.label: c.key for c in DEFECT_CLASSES}
    category_ids = {c.key: number for number, c in enumerate(DEFECT_CLASSES, start=1)}
    images, annotations = [], []
    for image_id, task in enumerate(json.loads(manifest_path.read_text())["tasks"], start=1):
        images.append({"id": image_id, "file_name": Path(task["image"]).name, "width": task["width"],
                       "height": task["height"]})
        masks, _, _ = masks_from_results(json.loads((root / task["prediction"]).read_text())["result"])
        for label, mask in masks.items():
            rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "iscrowd": 0,
                                "category_id": category_ids[key_of[label]],
                                "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()}})
        del masks
    categories = [{"id": number, "name": key} for key, number in category_ids.items()]
    document = {"images": images, "annotations": annotations, "categories": categories}
    return document, {number: key for key, number in category_ids.items()}, [a["segmentation"] for a in annotations]


def client_files_write(*, manifest_path: Path, out: Path) -> tuple[Path, Path]:
    """Write the sample's photos as out/client-photos.zip (stored: JPEGs do not deflate) and its predictions as
    out/client-coco.json; returns their paths. Each is written to a temporary name first, so a file there is whole."""
    out.mkdir(parents=True, exist_ok=True)
    tasks = json.loads(manifest_path.read_text())["tasks"]
    photos, coco = out / PHOTOS_ZIP, out / COCO_JSON
    partial = photos.with_suffix(".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        for task in tasks:
            archive.write(manifest_path.parent / task["image"], f"photos/{Path(task['image']).name}")
    partial.replace(photos)
    document, _, _ = coco_from_sample(manifest_path)
    partial = coco.with_suffix(".part")
    partial.write_text(json.dumps(document))
    partial.replace(coco)
    return photos, coco
