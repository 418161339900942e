#!/usr/bin/python3
"""Writes an OCI image layout tar from a directory, for the shim's containerd tests.

    mkimage.py [--entrypoint JSON-ARRAY] OUT.tar REF PLATFORM DIR [DIR...]

One uncompressed layer holding the files of each DIR at the image's root (later ones win),
a config for PLATFORM (os/arch, e.g. wasip1/wasm or linux/amd64) and index.json naming the
image REF, so that `ctr images import` knows it by that name. Until `zerohop image build`
(branch oci) is merged this stands in for it; it writes the same shape: FROM scratch, the
files at /.
"""
import hashlib
import io
import json
import os
import sys
import tarfile


def blob(out, data, media):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    info = tarfile.TarInfo("blobs/sha256/" + digest[7:])
    info.size = len(data)
    info.mode = 0o644
    out.addfile(info, io.BytesIO(data))
    return {"mediaType": media, "digest": digest, "size": len(data)}


def layer_of(dirs):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        seen = set()
        for d in dirs:
            for name in sorted(os.listdir(d)):
                if name in seen:
                    continue
                seen.add(name)
                t.add(os.path.join(d, name), arcname=name,
                      filter=lambda i: (setattr(i, "uid", 0), setattr(i, "gid", 0),
                                        setattr(i, "uname", ""), setattr(i, "gname", ""),
                                        setattr(i, "mtime", 0), i)[-1])
    return buf.getvalue()


def main():
    args = sys.argv[1:]
    entrypoint = ["/"]
    if args[:1] == ["--entrypoint"] and len(args) > 1:
        entrypoint = json.loads(args[1])
        args = args[2:]
    if len(args) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    out_path, ref, platform, dirs = args[0], args[1], args[2], args[3:]
    os_name, arch = platform.split("/", 1)
    layer = layer_of(dirs)
    with tarfile.open(out_path, "w") as out:
        lay = blob(out, layer, "application/vnd.oci.image.layer.v1.tar")
        config = {
            "architecture": arch, "os": os_name,
            "config": {"Entrypoint": entrypoint},
            "rootfs": {"type": "layers",
                       "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
        }
        cfg = blob(out, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": cfg, "layers": [lay]}
        man = blob(out, json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
        man["platform"] = {"architecture": arch, "os": os_name}
        man["annotations"] = {"io.containerd.image.name": ref,
                              "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[-1]}
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": [man]}
        for name, data in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                           ("index.json", json.dumps(index).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
