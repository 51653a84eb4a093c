"""Test images for the registry tests (issue 10), built from the host's busybox-static and
pushed with Debian's skopeo to a real registry (Debian's docker-registry, distribution 2.8)
that registry_server.py starts on 127.0.0.1.

    build_oci_layout(dir, rootfs, config)       -> an OCI image layout with one gzip layer
    build_oci_index(dir, [(platform, layout)])  -> an OCI layout whose tag is a multi-platform index
    push(layout_dir, "127.0.0.1:PORT/x/y:tag")  -> skopeo copy oci:… docker://…

Images are deterministic: the same inputs give the same digests.
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import rootfs  # noqa: E402

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CREATED = "2026-11-01T10:00:00Z"


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tar_of(root):
    """A deterministic tar of `root` (sorted, fixed times and owners)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                full = os.path.join(dirpath, name)
                info = tar.gettarinfo(full, arcname=os.path.relpath(full, root))
                info.mtime = 0
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                if info.isreg():
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def _blob(layout, data):
    digest = _digest(data)
    path = os.path.join(layout, "blobs", "sha256", digest[7:])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return {"digest": digest, "size": len(data)}


def _write_layout(layout, descriptor):
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [descriptor]}, f)


def _image(layout, root, config, platform):
    layer_tar = _tar_of(root)
    layer = gzip.compress(layer_tar, mtime=0)
    os_name, arch = platform.split("/")[:2]
    full_config = {
        "created": CREATED,
        "architecture": arch,
        "os": os_name,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [_digest(layer_tar)]},
        "history": [{"created": CREATED, "created_by": "tests/registry/oci_images.py"}],
    }
    config_bytes = json.dumps(full_config, sort_keys=True).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": dict(_blob(layout, config_bytes), mediaType=OCI_CONFIG),
        "layers": [dict(_blob(layout, layer), mediaType=OCI_LAYER)],
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True).encode()
    return dict(_blob(layout, manifest_bytes), mediaType=OCI_MANIFEST), config_bytes


def build_oci_layout(layout, root, config, platform="linux/amd64"):
    """An OCI layout at `layout` holding one image: `root` as its only layer and `config`
    (the image config's "config" object: Entrypoint, Cmd, Env, …). Returns the config bytes."""
    descriptor, config_bytes = _image(layout, root, config, platform)
    _write_layout(layout, descriptor)
    return config_bytes


def build_oci_index(layout, images):
    """An OCI layout at `layout` whose one entry is an index of `images`, a list of
    (platform "os/arch[/variant]", rootfs dir, config). Returns {platform: config bytes}."""
    entries, configs = [], {}
    for platform, root, config in images:
        descriptor, config_bytes = _image(layout, root, config, platform)
        parts = platform.split("/")
        descriptor["platform"] = {"os": parts[0], "architecture": parts[1]}
        if len(parts) > 2:
            descriptor["platform"]["variant"] = parts[2]
        entries.append(descriptor)
        configs[platform] = config_bytes
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    _write_layout(layout, dict(_blob(layout, json.dumps(index, sort_keys=True).encode()), mediaType=OCI_INDEX))
    return configs


def push(layout, destination, creds=None, timeout=120):
    """skopeo copy of the layout's only image to docker://`destination` (plain HTTP)."""
    cmd = ["skopeo", "copy", "--quiet", "--all", "--dest-tls-verify=false"]
    if creds:
        cmd += ["--dest-creds", creds]
    cmd += ["oci:" + layout, "docker://" + destination]
    subprocess.run(cmd, check=True, timeout=timeout, stdin=subprocess.DEVNULL)


def skopeo_raw_config(reference, creds=None, timeout=60):
    """What skopeo says the image config is (its bytes, as the registry stores them)."""
    cmd = ["skopeo", "inspect", "--raw", "--config", "--tls-verify=false"]
    if creds:
        cmd += ["--creds", creds]
    cmd.append("docker://" + reference)
    return subprocess.run(cmd, check=True, timeout=timeout, capture_output=True, stdin=subprocess.DEVNULL).stdout


def busybox_root(path):
    rootfs.build_busybox_rootfs(path)
    return path
