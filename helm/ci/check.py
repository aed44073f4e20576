"""scripts/ci-helm's checks that need more than helm itself.

  check.py config-parity            the chart's config schema vs the binary's keys
  check.py checksums RENDER...      checksum/config follows the ConfigMap
  check.py dockerfile               (and image-run) the Dockerfile vs the repository, the binary and the chart
  check.py run NAME VALUES...       the rendered chart, started for real (see podsim.py)

Tools come from the environment scripts/install-helm-tools prints (HELM,
GRPCURL, MODEL_DIR, PG_BIN) plus MEMORID_BIN, the release binary.
Every check raises Failure with what went wrong; nothing is skipped.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import image as dockerfile  # noqa: E402
import podsim  # noqa: E402
from podsim import Failure  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
CHART = os.path.join(REPO, "helm", "memorid")
RELEASE = "ci"
KUBE_VERSION = "1.31.0"


def tool(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise Failure(f"{name} is not set (scripts/ci-helm sets it from scripts/install-helm-tools)")
    return value


def say(message: str) -> None:
    print(f"   {message}", flush=True)


def render(values_files: list[str], namespace: str, extra: list[str] = ()) -> list[dict]:
    argv = [tool("HELM"), "template", RELEASE, CHART, "-n", namespace, "--kube-version", KUBE_VERSION]
    for f in values_files:
        argv += ["-f", f]
    argv += list(extra)
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"helm template failed: {result.stderr.strip()}")
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def find(docs: list[dict], kind: str, component: str | None = None) -> list[dict]:
    return [
        d for d in docs if d["kind"] == kind
        and (component is None or d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == component)
    ]


def hook(doc: dict) -> str | None:
    return (doc["metadata"].get("annotations") or {}).get("helm.sh/hook")


# --- the config schema and the binary ------------------------------------------

# Keys memorid reads that the chart does not take as `config` values, and why.
CHART_WRITES = {
    "server.listen": "from ports.grpc and listenHost",
    "server.health_listen": "from ports.health and listenHost, with tls.enabled",
    "server.tls.cert_file": "tls.crt of the mounted tls.existingSecret",
    "server.tls.key_file": "tls.key of the mounted tls.existingSecret",
    "server.tls.client_ca_file": "ca.crt of the mounted tls.existingSecret, with tls.clientAuth",
    "metrics.listen": "from ports.metrics",
    "embeddings.model_dir": "from model",
    "embeddings.auto_install": "always false in a pod",
    "auth.keys_file": "from auth.existingSecret",
}
NOT_OFFERED = {
    "storage.url": "a secret: the MEMORID_STORAGE__URL env var from database.existingSecret",
    "auth.keys": "inline API keys are secrets: auth.existingSecret mounts them as a file",
}
# Map-valued settings, normalized to one entry in key paths.
MAPS = {"providers": "*", "routing.aliases": "*"}


def _leaves(tree, prefix=""):
    out = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        normalized = path
        for map_path, placeholder in MAPS.items():
            if path.startswith(map_path + "."):
                rest = path[len(map_path) + 1:]
                name, _, tail = rest.partition(".")
                normalized = f"{map_path}.{placeholder}" + (f".{tail}" if tail else "")
        if path in MAPS and isinstance(value, dict):
            for name, item in value.items():
                if isinstance(item, dict):
                    for k, v in _leaves(item, f"{path}.*.").items():
                        out[k] = v
                else:
                    out[f"{path}.*"] = item
            continue
        if isinstance(value, dict):
            out.update(_leaves(value, path + "."))
        else:
            out[normalized] = value
    return out


def _schema_example(schema: dict, path: str):
    if "default" in schema:
        return schema["default"]
    if schema.get("examples"):
        return schema["examples"][0]
    raise Failure(f"values.schema.json config.{path}: give it a default or an example")


def _schema_config_tree(schema: dict, path: str = ""):
    """A config with every key of the schema set to its default or example."""
    if schema.get("type") == "object" and "properties" in schema:
        return {k: _schema_config_tree(v, f"{path}.{k}".lstrip(".")) for k, v in schema["properties"].items()}
    if schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        item = schema["additionalProperties"]
        if item.get("type") == "object":
            # One made-up entry of the map (a provider "ci_upstream").
            return {"ci_upstream": _schema_config_tree(item, f"{path}.*")}
        return _schema_example(schema, path)
    return _schema_example(schema, path)


def _defaults_only(schema: dict, path: str = ""):
    out = {}
    for key, sub in schema.get("properties", {}).items():
        p = f"{path}.{key}".lstrip(".")
        if "properties" in sub:
            out.update(_defaults_only(sub, p))
        elif "default" in sub:
            out[p] = sub["default"]
    return out


def memorid_config(binary: str, toml_text: str | None, env: dict | None = None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".toml") as f:
        f.write(toml_text or "")
        f.flush()
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MEMORID_")}
        clean["RUST_BACKTRACE"] = "0"
        clean.update(env or {})
        result = subprocess.run([binary, "--config", f.name, "config"], capture_output=True, text=True, env=clean)
    if result.returncode != 0:
        raise Failure(f"memorid config refused it: {result.stderr.strip()}")
    return tomllib.loads(result.stdout)


def toml_dump(tree: dict, prefix: str = "") -> str:
    lines, tables = [], []
    for key, value in tree.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{json.dumps(key)} = {json.dumps(value)}")
    text = "\n".join(lines) + "\n"
    for key, value in tables:
        name = f"{prefix}.{json.dumps(key)}" if prefix else json.dumps(key)
        text += f"\n[{name}]\n" + toml_dump(value, name)
    return text


def _schema_offers(config_schema: dict, key: str) -> bool:
    node = config_schema
    for part in key.split("."):
        node = node.get("properties", {}).get(part)
        if node is None:
            return False
    return True


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _only(tree: dict, keys) -> dict:
    """The sub-tree of `tree` holding just the dotted `keys` present in it."""
    out: dict = {}
    for key in keys:
        node, parts = tree, key.split(".")
        for part in parts:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            continue
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = node
    return out


def config_parity() -> None:
    binary = tool("MEMORID_BIN")
    with open(os.path.join(CHART, "values.schema.json")) as f:
        config_schema = json.load(f)["properties"]["config"]

    say("the chart writes every key it owns: a render with every feature that adds one")
    # The TLS set turns on health_listen and every server.tls file; the API
    # keys Secret adds auth.keys_file.
    docs = render([os.path.join(REPO, "helm", "ci", "values", "tls.yaml")], "memorid",
                  ["--set", "auth.existingSecret=memorid-api-keys"])
    cm = tomllib.loads(find(docs, "ConfigMap", "server")[0]["data"]["memorid.toml"])
    written = set(_leaves(cm))
    for key in CHART_WRITES:
        if key not in written:
            raise Failure(f"the chart should write {key} ({CHART_WRITES[key]}) but the render has no such key")
    # What only the chart writes, as it writes it: memorid refuses a
    # [server.tls] without its files, so the schema's keys are checked
    # together with them.
    chart_keys = sorted(k for k in written if not _schema_offers(config_schema, k))
    unexplained = [k for k in chart_keys if k not in CHART_WRITES]
    if unexplained:
        raise Failure(f"the chart writes {unexplained}, which the schema does not offer and CHART_WRITES does not explain")
    chart_written = _only(cm, chart_keys)

    say("every key of config in values.schema.json is one memorid accepts (with the chart's own keys)")
    full = _schema_config_tree(config_schema)
    printed = memorid_config(binary, toml_dump(_merge(full, chart_written)))
    schema_keys = set(_leaves(full))

    say("every key memorid accepts is reachable: in the schema, written by the chart, or a secret")
    binary_keys = set(_leaves(printed))
    missing = sorted(binary_keys - schema_keys - set(CHART_WRITES) - set(NOT_OFFERED))
    if missing:
        raise Failure(f"memorid accepts keys the chart's schema does not offer: {missing}")
    unknown = sorted(schema_keys - binary_keys)
    if unknown:
        raise Failure(f"the schema offers keys memorid did not print back: {unknown}")
    for key in list(CHART_WRITES) + list(NOT_OFFERED):
        if _schema_offers(config_schema, key):
            raise Failure(f"values.schema.json lets users set config.{key}, which the chart owns")

    say("the schema's documented defaults are memorid's defaults (server.tls's with the chart's files)")
    actual = _leaves(memorid_config(binary, toml_dump(chart_written)))
    for key, documented in _defaults_only(config_schema).items():
        if key not in actual:
            continue
        value = actual[key]
        if value != documented and not (isinstance(value, float) and abs(value - documented) < 1e-6):
            raise Failure(f"values.schema.json documents config.{key} = {documented!r}, memorid's default is {value!r}")


# --- the Dockerfile ---------------------------------------------------------------


def _rust_include_paths(root: str) -> list[tuple[str, str]]:
    found = []
    for dirpath, _dirs, files in os.walk(os.path.join(root, "src")):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for match in re.finditer(r'include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)', text):
                found.append((path, os.path.normpath(os.path.join(dirpath, match.group(1)))))
    return found


def dockerfile_check() -> None:
    binary = tool("MEMORID_BIN")
    path = os.path.join(REPO, "Dockerfile")
    stages = dockerfile.parse(path)
    names = [s.name for s in stages if s.name]
    by_name = {s.name: s for s in stages if s.name}
    final = stages[-1]
    if len(names) != len(set(names)):
        raise Failure(f"Dockerfile: stage names repeat: {names}")
    for stage in stages:
        if ":" not in stage.base.rsplit("/", 1)[-1] or stage.base.endswith(":latest"):
            raise Failure(f"Dockerfile: FROM {stage.base} is not pinned to a tag")

    say("every COPY from the build context exists and survives .dockerignore")
    rules = dockerfile.read_dockerignore(os.path.join(REPO, ".dockerignore"))
    context: set[str] = set()
    for stage in stages:
        for c in dockerfile.copies(stage):
            for source in c.sources:
                if source.stage is not None:
                    if source.stage not in by_name or stages.index(by_name[source.stage]) >= stages.index(stage):
                        raise Failure(f"Dockerfile line {c.line}: --from={source.stage} is not an earlier stage")
                    continue
                files = dockerfile.context_files(REPO, source.path, rules)
                if not files:
                    raise Failure(
                        f"Dockerfile line {c.line}: COPY {source.path}: "
                        + ("not in the repository" if not os.path.exists(os.path.join(REPO, source.path))
                           else "left out of the build context by .dockerignore")
                    )
                context.update(files)

    say("the copied sources are a complete crate: cargo reads the manifest, include_str!/include_bytes! resolve")
    with tempfile.TemporaryDirectory() as tmp:
        for rel in context:
            os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
            with open(os.path.join(REPO, rel), "rb") as src, open(os.path.join(tmp, rel), "wb") as dst:
                dst.write(src.read())
        result = subprocess.run(
            ["cargo", "metadata", "--offline", "--locked", "--no-deps", "--format-version", "1",
             "--manifest-path", os.path.join(tmp, "Cargo.toml")],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise Failure(f"cargo cannot read the image's build context: {result.stderr.strip()}")
        meta = json.loads(result.stdout)
        for package in meta["packages"]:
            for target in package["targets"]:
                if not os.path.exists(target["src_path"]):
                    raise Failure(f"target {target['name']} needs {target['src_path']}, not in the build context")
        # Targets declared without a file are dropped by `cargo metadata`
        # but fail `cargo build`: check cargo's default paths ourselves.
        with open(os.path.join(tmp, "Cargo.toml"), "rb") as f:
            manifest = tomllib.load(f)
        for section, folder in (("bin", "src/bin"), ("bench", "benches"), ("test", "tests"), ("example", "examples")):
            for target in manifest.get(section, []):
                candidates = [target["path"]] if "path" in target else [
                    f"{folder}/{target['name']}.rs", f"{folder}/{target['name']}/main.rs"]
                if section == "bin" and "path" not in target:
                    candidates.append("src/main.rs")
                if not any(os.path.exists(os.path.join(tmp, c)) for c in candidates):
                    raise Failure(f"Cargo.toml's [[{section}]] {target['name']} needs {candidates[0]}, not in the build context")
        for source, included in _rust_include_paths(tmp):
            if not os.path.exists(included):
                raise Failure(f"{os.path.relpath(source, tmp)} includes {os.path.relpath(included, tmp)}, not in the build context")
        with open(os.path.join(tmp, "build.rs")) as f:
            for proto in re.findall(r'"([^"]+\.proto)"', f.read()):
                if not os.path.exists(os.path.join(tmp, proto)):
                    raise Failure(f"build.rs compiles {proto}, not in the build context")

    say("the build stage builds the release binary --locked, the model stage installs the model with it")
    build = by_name.get("build")
    runs = " ".join(i.args for i in (build.instructions if build else []) if i.keyword == "RUN")
    if "cargo build --release --locked" not in runs or "/out/memorid" not in runs:
        raise Failure("Dockerfile: the build stage must `cargo build --release --locked` and install /out/memorid")
    model = by_name.get("model")
    if model is None:
        raise Failure("Dockerfile: no `model` stage")
    # One installer (src/embed/install.rs, with its sha256 checks): the
    # image runs the built binary's, as scripts/ci-helm does for MODEL_DIR.
    model_copies = dockerfile.copies(model)
    if not any(any(s.stage == "build" and s.path == "/out/memorid" for s in c.sources) for c in model_copies):
        raise Failure("Dockerfile: the model stage must copy /out/memorid from the build stage")
    model_runs = " ".join(i.args for i in model.instructions if i.keyword == "RUN")
    if not re.search(r"MEMORID_EMBEDDINGS__MODEL_DIR=/model memorid install-model", model_runs):
        raise Failure("Dockerfile: the model stage must run `memorid install-model` into /model")

    say("the runtime stage: non-root, the chart's UID, ports, binary path and model path")
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    docs = render([], "memorid")
    deployment = find(docs, "Deployment")[0]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    user = dockerfile.last(final, "USER")
    if user is None or not re.fullmatch(r"\d+(:\d+)?", user.args) or user.args.split(":")[0] == "0":
        raise Failure(f"Dockerfile: the runtime stage needs a numeric non-root USER, has {user.args if user else None!r}")
    uid, _, gid = user.args.partition(":")
    pod_sc = values["podSecurityContext"]
    if int(uid) != pod_sc["runAsUser"] or int(gid or uid) != pod_sc["runAsGroup"]:
        raise Failure(f"Dockerfile USER {user.args} is not the chart's runAsUser/runAsGroup {pod_sc['runAsUser']}:{pod_sc['runAsGroup']}")
    exposed = sorted(int(p.split("/")[0]) for p in (dockerfile.last(final, "EXPOSE").args.split()))
    if exposed != sorted([values["ports"]["grpc"], values["ports"]["metrics"]]):
        raise Failure(f"Dockerfile EXPOSE {exposed} is not the chart's ports {values['ports']}")
    entrypoint = dockerfile.exec_form(final, "ENTRYPOINT")
    cmd = dockerfile.exec_form(final, "CMD") or []
    copies = dockerfile.copies(final)
    binary_dest = next((c.dest for c in copies if any(s.stage == "build" and s.path == "/out/memorid" for s in c.sources)), None)
    model_dest = next((c.dest.rstrip("/") for c in copies if any(s.stage == "model" and s.path == "/model/" for s in c.sources)), None)
    if not entrypoint or entrypoint[0] != binary_dest:
        raise Failure(f"Dockerfile ENTRYPOINT {entrypoint} does not run the copied binary {binary_dest}")
    if container["command"][0] != binary_dest:
        raise Failure(f"the chart runs {container['command'][0]}, the image has memorid at {binary_dest}")
    if model_dest != values["model"]["imagePath"]:
        raise Failure(f"the image has the model at {model_dest}, the chart's model.imagePath is {values['model']['imagePath']}")

    say(f"the runtime command `{' '.join(entrypoint[1:] + cmd)}` is one the binary accepts")
    result = subprocess.run([binary, *entrypoint[1:], *cmd, "--help"], capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"memorid {' '.join(cmd)}: {result.stderr.strip()}")
    image_env = dockerfile.env(final)
    heredoc = next((c for c in copies if c.heredoc is not None and c.dest == image_env.get("MEMORID_CONFIG")), None)
    if heredoc is None:
        raise Failure(f"MEMORID_CONFIG={image_env.get('MEMORID_CONFIG')} is not a file the image writes")
    say("the image's default config is one memorid accepts, with the exposed ports and the baked model")
    shown = memorid_config(binary, heredoc.heredoc, {k: v for k, v in image_env.items() if k != "MEMORID_CONFIG"})
    ports = sorted(int(shown[s]["listen"].rsplit(":", 1)[1]) for s in ("server", "metrics"))
    if ports != exposed:
        raise Failure(f"the image's config listens on {ports}, it exposes {exposed}")
    if shown["embeddings"].get("model_dir") != model_dest or shown["embeddings"]["auto_install"] is not False:
        raise Failure("the image's config must point embeddings.model_dir at the baked model with auto_install = false")


def artifacts() -> dict:
    """What the Dockerfile's earlier stages produce, on this machine."""
    empty = None
    return {
        ("build", "/out/memorid"): tool("MEMORID_BIN"),
        ("model", "/model/"): tool("MODEL_DIR"),
        ("model", "/data/"): empty,
    }


def image_run() -> None:
    """`docker run` of the image with nothing else: the default command must
    serve health on the first exposed port."""
    img = podsim.load_image(os.path.join(REPO, "Dockerfile"), artifacts())
    fixtures = podsim.Fixtures({}, {}, {}, {}, "default")
    with tempfile.TemporaryDirectory(prefix="memorid-image-") as work:
        pod = podsim.Pod("image", {"containers": [{"name": "memorid"}]}, {}, img, fixtures, work,
                         podsim.POD_NETWORK + "2", None)
        running = pod.start({"name": "memorid"}, forward_postgres=False)
        try:
            took = podsim.probe_until(
                running, {"grpc": {"port": img.exposed[0]}, "periodSeconds": 1, "timeoutSeconds": 2, "failureThreshold": 120},
                "start-up")
            say(f"`docker run` of the image: SERVING on {img.exposed[0]} after {took:.1f} s (SQLite in {img.workdir})")
            running.process.send_signal(signal.SIGTERM)
            running.process.wait(timeout=60)
            if running.process.returncode != 0:
                raise Failure(f"the image's memorid exited {running.process.returncode} on SIGTERM:\n{running.log()}")
        finally:
            pod.stop_all()


# --- TLS material -------------------------------------------------------------------


def _openssl(*args: str, cwd: str) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"openssl {args[0]} failed: {result.stderr.strip()}")


class ThrowawayCA:
    """A CA made for one run and the certificates it signs (the openssl
    CLI), standing in for cert-manager's CA issuer: a Secret of tls.crt,
    tls.key and the CA as ca.crt. P-256 keys written as SEC1 ("EC PRIVATE
    KEY"), which is what cert-manager writes for ECDSA with its default
    encoding; valid for two days, so a clock a little off does not matter."""

    def __init__(self, folder: str):
        self.folder = folder
        os.makedirs(folder, mode=0o700)
        self._write("ca.cnf", """
[req]
prompt = no
distinguished_name = dn
x509_extensions = ca
[dn]
CN = memorid ci-helm throwaway CA
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
""")
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key", cwd=folder)
        _openssl("req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "2", "-config", "ca.cnf",
                 cwd=folder)
        self.ca_file = os.path.join(folder, "ca.crt")

    def _write(self, name: str, text: str) -> str:
        path = os.path.join(self.folder, name)
        with open(path, "w") as f:
            f.write(text.lstrip())
        return path

    def issue(self, name: str, dns_names: list[str], usages: str) -> tuple[str, str]:
        """A certificate for `dns_names` with the extended key `usages`
        (e.g. "serverAuth, clientAuth"); returns (cert path, key path)."""
        sans = ", ".join(f"DNS:{n}" for n in dns_names)
        self._write(f"{name}.cnf", f"""
[req]
prompt = no
distinguished_name = dn
[dn]
CN = {dns_names[0]}
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = {usages}
subjectAltName = {sans}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
""")
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=self.folder)
        _openssl("req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-config", f"{name}.cnf",
                 cwd=self.folder)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-set_serial", f"0x{random.getrandbits(120):x}", "-days", "2",
                 "-extfile", f"{name}.cnf", "-extensions", "leaf", "-out", f"{name}.crt", cwd=self.folder)
        return os.path.join(self.folder, f"{name}.crt"), os.path.join(self.folder, f"{name}.key")

    def secret(self, cert: str, key: str) -> dict[str, str]:
        """A kubernetes.io/tls Secret's data, as cert-manager writes it."""
        data = {}
        for name, path in (("tls.crt", cert), ("tls.key", key), ("ca.crt", self.ca_file)):
            with open(path) as f:
                data[name] = f.read()
        return data


def fingerprint(cert_path: str) -> str:
    import ssl

    with open(cert_path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


# What a TLS client sees: the SHA-256 of the certificate it was served
# (verified against the CA for the name given), then what the server sends
# first. An HTTP/2 server starts with its SETTINGS frame; a server that
# refuses the client's certificate sends an alert instead, which TLS 1.3
# can only do after the client's side of the handshake is done. Only
# reading (writing nothing) makes that alert arrive before the connection
# is torn down.
TLS_CLIENT = """
import hashlib, json, socket, ssl, sys
host, port, name, ca, cert, key = sys.argv[1:7]
context = ssl.create_default_context(cafile=ca)
context.set_alpn_protocols(["h2"])
if cert:
    context.load_cert_chain(cert, key)
with socket.create_connection((host, int(port)), timeout=5) as raw:
    with context.wrap_socket(raw, server_hostname=name) as tls:
        served = hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()
        try:
            first = "data" if tls.recv(9) else "closed"
        except (ssl.SSLError, OSError) as e:
            first = f"error: {e}"
print(json.dumps({"served": served, "first": first}))
"""


@dataclasses.dataclass
class ServedTls:
    """TLS as the rendered pods serve it, and how this check calls them."""

    ca: ThrowawayCA
    secret: str  # the Secret's name
    volume: str  # the pod volume it is mounted from
    sans: list[str]  # what the server certificate names: the Services
    authority: str  # the Service name callers verify the certificate for
    headless: str | None  # the headless Service's name, for client-side balancing
    client_auth: bool
    client_cert: tuple[str, str] | None  # this check's own client certificate
    reload_secs: int

    def transport(self, with_client_cert: bool = True, authority: str | None = None) -> list[str]:
        flags = ["-cacert", self.ca.ca_file, "-authority", authority or self.authority]
        if self.client_cert and with_client_cert:
            flags += ["-cert", self.client_cert[0], "-key", self.client_cert[1]]
        return flags

    def connect(self, running, address: str, with_client_cert: bool = True) -> dict:
        host, _, port = address.rpartition(":")
        cert, key = (self.client_cert if with_client_cert else None) or ("", "")
        result = running.in_netns([sys.executable, "-c", TLS_CLIENT, host, port, self.authority,
                                   self.ca.ca_file, cert, key], timeout=20)
        if result.returncode != 0:
            raise Failure(f"TLS to {address} as {self.authority}: {result.stderr.strip().splitlines()[-1:]}")
        return json.loads(result.stdout)

    def served(self, running, address: str) -> str:
        return self.connect(running, address)["served"]


def served_tls(docs: list[dict], raw: dict, fixtures, work: str, namespace: str, binary: str) -> ServedTls | None:
    """Issues the "@tls" fixture Secrets for this render's Services; None
    when the rendered memorid serves no TLS."""
    cm_text = find(docs, "ConfigMap", "server")[0]["data"]["memorid.toml"]
    files = (tomllib.loads(cm_text).get("server") or {}).get("tls")
    spec = find(docs, "Deployment")[0]["spec"]["template"]["spec"]
    issued = [s["metadata"]["name"] for s in raw["secrets"] if s.get("stringData") == "@tls"]
    if not files:
        # A chart that mounts the certificate but forgot to configure it
        # would pass every check below in plaintext.
        mounted = [v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v]
        if set(mounted) & set(issued):
            raise Failure(f"the pods mount the TLS Secret {sorted(set(mounted) & set(issued))}, "
                          "but memorid.toml has no [server.tls]")
        return None
    effective = memorid_config(binary, cm_text)["server"]["tls"]
    container = next(c for c in spec["containers"] if c["name"] == "memorid")
    folder = os.path.dirname(files["cert_file"])
    mount = next((m for m in container.get("volumeMounts", []) if m["mountPath"] == folder), None)
    if mount is None:
        raise Failure(f"memorid reads server.tls.cert_file {files['cert_file']}, but nothing is mounted at {folder}")
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    secret = (volume.get("secret") or {}).get("secretName")
    if secret not in issued:
        raise Failure(f"server.tls comes from volume {mount['name']} ({volume}), not a TLS Secret ci-helm issues ({issued})")
    services = find(docs, "Service")
    sans = [f"{s['metadata']['name']}{suffix}" for s in services
            for suffix in ("", f".{namespace}", f".{namespace}.svc", f".{namespace}.svc.cluster.local")]
    main = next(s for s in services if s["metadata"]["labels"].get("memorid.io/service") != "headless")
    headless = [s for s in services if s["metadata"]["labels"].get("memorid.io/service") == "headless"]
    ca = ThrowawayCA(os.path.join(work, "tls"))
    # Server and client usage: the `helm test` pod presents the Secret's
    # own certificate when client certificates are required.
    cert, key = ca.issue("server", sans, "serverAuth, clientAuth")
    for name in issued:
        fixtures.secrets[name] = ca.secret(cert, key)
    client_auth = "client_ca_file" in files
    return ServedTls(
        ca=ca, secret=secret, volume=mount["name"], sans=sans,
        authority=f"{main['metadata']['name']}.{namespace}.svc",
        headless=f"{headless[0]['metadata']['name']}.{namespace}.svc" if headless else None,
        client_auth=client_auth,
        client_cert=ca.issue("client", ["ci-helm-client"], "clientAuth") if client_auth else None,
        reload_secs=int(effective["reload_secs"]),
    )


# --- the rendered chart, started ---------------------------------------------------


def load_fixtures(namespace_override: str | None = None):
    with open(os.path.join(HERE, "fixtures.yaml")) as f:
        raw = yaml.safe_load(f)
    secrets = {}
    for s in raw["secrets"]:
        if s.get("stringData") == "@tls":
            continue  # issued per run by served_tls()
        data = {k: v for k, v in (s.get("stringData") or {}).items()}
        secrets[s["metadata"]["name"]] = data
    claims = {k: (tool("MODEL_DIR") if v == "@model" else v) for k, v in raw["claims"].items()}
    return raw, podsim.Fixtures(secrets, {}, claims, {}, namespace_override or raw["namespace"])


def grpcurl_raw(running, argv: list[str], timeout: float = 15) -> subprocess.CompletedProcess:
    return running.in_netns([tool("GRPCURL"), "-max-time", str(int(timeout)), *argv], timeout=timeout + 10)


def grpcurl_hung_up(running, argv: list[str], what: str) -> str:
    """A call whose connection the server must hang up on before HTTP/2
    starts. grpcurl itself only says the dial timed out; grpc-go's
    transport log says why."""
    result = running.in_netns([tool("GRPCURL"), "-max-time", "3", *argv], timeout=15, env=dict(
        os.environ, GRPC_GO_LOG_SEVERITY_LEVEL="info", GRPC_GO_LOG_VERBOSITY_LEVEL="2"))
    if result.returncode == 0:
        raise Failure(f"{what} was answered: {result.stdout.strip()}")
    # The server closed on what it could not read as TLS: the client sees
    # EOF, or a reset / broken pipe when its own bytes were still unread.
    reasons = ("error reading server preface", "broken pipe", "connection reset")
    why = re.search(r'(?:connection error: desc = "|Err: )([^"}]*)', result.stderr)
    if not why or not any(r in why.group(1) for r in reasons):
        raise Failure(f"{what} failed, but not because the server hung up:\n{result.stderr.strip()[-2000:]}")
    return why.group(1)


def grpcurl(running, address: str, method: str, payload: dict | None, api_key: str | None, timeout: float = 30,
            transport: list[str] = ("-plaintext",)):
    argv = [tool("GRPCURL"), *transport, "-max-time", str(int(timeout))]
    if api_key:
        argv += ["-H", f"authorization: Bearer {api_key}"]
    if payload is not None:
        argv += ["-d", json.dumps(payload)]
    argv += [address, method]
    result = running.in_netns(argv, timeout=timeout + 10)
    if result.returncode != 0:
        raise Failure(f"{method} through {address} failed: {result.stderr.strip() or result.stdout.strip()}")
    text = result.stdout.strip()
    decoder = json.JSONDecoder()
    out, i = [], 0
    while i < len(text):
        value, end = decoder.raw_decode(text, i)
        out.append(value)
        i = end
        while i < len(text) and text[i].isspace():
            i += 1
    return out


def tls_checks(tls: ServedTls, first, address: str, container: dict) -> None:
    """TLS on the gRPC port and nothing else; health in plaintext on its
    own port and nothing else there."""
    say(f"TLS on {address}: the certificate verifies against the Secret's CA as {tls.authority}"
        + ("; client certificates required" if tls.client_auth else ""))
    listed = grpcurl_raw(first, [*tls.transport(), address, "list"])
    if listed.returncode != 0 or "memori.v1.MemoryService" not in listed.stdout:
        raise Failure(f"reflection over TLS on {address} failed: {listed.stderr.strip() or listed.stdout.strip()}")
    # An h2c server would answer with its SETTINGS frame; a TLS one hangs up.
    why = grpcurl_hung_up(first, ["-plaintext", address, "list"], f"plaintext gRPC on {address}, with TLS on,")
    say(f"   plaintext on the gRPC port is refused: {why}")
    with_cert = tls.connect(first, address)
    if with_cert["first"] != "data":
        raise Failure(f"TLS with a valid client setup on {address}: the server sent no HTTP/2 preface ({with_cert['first']})")
    if tls.client_auth:
        anonymous = tls.connect(first, address, with_client_cert=False)
        if "certificate required" not in anonymous["first"].lower().replace("_", " "):
            raise Failure(f"TLS without a client certificate on {address}, with client certificates required: "
                          f"expected the certificate_required alert, the server sent {anonymous['first']!r}")
        say(f"   TLS without a client certificate gets the certificate_required alert ({anonymous['first']})")
    health = f"{first.pod.ip}:{container['readinessProbe']['grpc']['port']}"
    # grpc.health.v1 answers there (the probes passed); memori.v1 must not.
    proto = os.path.join(REPO, "proto")
    other = grpcurl_raw(first, ["-plaintext", "-import-path", proto, "-proto", "memori/v1/memory_service.proto",
                                "-d", json.dumps({"attribution": {"entity_id": "ci-user"}}), health,
                                "memori.v1.MemoryService/ListFacts"], timeout=10)
    if "Unimplemented" not in other.stdout + other.stderr:
        raise Failure(f"the plaintext health port {health} should answer memori.v1 UNIMPLEMENTED: "
                      f"{other.stderr.strip() or other.stdout.strip()}")
    say(f"   the plaintext port {health} serves grpc.health.v1 only (memori.v1 is UNIMPLEMENTED there)")


def tls_rotation(tls: ServedTls, runs: list, container: dict) -> None:
    """A renewed certificate in the Secret is served without a restart."""
    cert, key = tls.ca.issue("renewed", tls.sans, "serverAuth, clientAuth")
    renewed = fingerprint(cert)
    data = tls.ca.secret(cert, key)
    say(f"the Secret {tls.secret} is renewed (a new key and certificate, as cert-manager does): "
        f"served within server.tls.reload_secs ({tls.reload_secs} s), no restart")
    for r in runs:
        r.pod.update_secret(tls.volume, {"tls.key": data["tls.key"], "tls.crt": data["tls.crt"]})
    for r in runs:
        address = f"{r.pod.ip}:{container['ports'][0]['containerPort']}"
        deadline = time.monotonic() + tls.reload_secs + 10
        started = time.monotonic()
        while tls.served(r, address) != renewed:
            if time.monotonic() > deadline:
                raise Failure(f"{r.pod.name} still serves the old certificate {tls.reload_secs + 10} s after the "
                              f"Secret was renewed:\n{r.log()}")
            time.sleep(0.5)
        if not r.alive():
            raise Failure(f"{r.pod.name} exited after the renewal:\n{r.log()}")
        listed = grpcurl_raw(r, [*tls.transport(), address, "list"])
        if listed.returncode != 0:
            raise Failure(f"a call to {address} after the renewal failed: {listed.stderr.strip()}")
        say(f"   {r.pod.name}: serves the renewed certificate after {time.monotonic() - started:.1f} s, and calls pass")


def run(name: str, values_files: list[str]) -> None:
    raw, fixtures = load_fixtures()
    namespace = fixtures.namespace
    docs = render(values_files, namespace)
    img = podsim.load_image(os.path.join(REPO, "Dockerfile"), artifacts())
    deployment = find(docs, "Deployment")[0]
    for cm in find(docs, "ConfigMap"):
        fixtures.config_maps[cm["metadata"]["name"]] = cm["data"]
    fixtures.hosts["postgres.db.svc"] = podsim.POSTGRES_SERVICE_IP
    pod_spec = deployment["spec"]["template"]["spec"]
    container = next(c for c in pod_spec["containers"] if c["name"] == "memorid")
    hpa = find(docs, "HorizontalPodAutoscaler")
    replicas = hpa[0]["spec"]["minReplicas"] if hpa else deployment["spec"].get("replicas", 1)
    started = min(replicas, 2)
    api_key = raw["apiKey"] if any(
        v.get("secret", {}).get("secretName") == "memorid-api-keys" for v in pod_spec.get("volumes", [])) else None
    grace = pod_spec.get("terminationGracePeriodSeconds", 30)
    pre_stop = ((container.get("lifecycle") or {}).get("preStop") or {}).get("sleep", {}).get("seconds", 0)

    with tempfile.TemporaryDirectory(prefix=f"memorid-{name}-") as work:
        os.chmod(work, 0o755)  # PostgreSQL runs as the postgres user
        pg_conf = raw["postgres"]
        postgres = podsim.Postgres(tool("PG_BIN"), work, pg_conf["user"], pg_conf["password"], pg_conf["database"])
        pods: list[podsim.Pod] = []
        tls = served_tls(docs, raw, fixtures, work, namespace, tool("MEMORID_BIN"))
        transport = tls.transport() if tls else ["-plaintext"]
        try:
            for job in [d for d in find(docs, "Job") if hook(d)]:
                spec = job["spec"]["template"]["spec"]
                events = hook(job)
                say(f"hook Job {job['metadata']['name']} ({events}): runs to completion first")
                pod = podsim.Pod(job["metadata"]["name"], spec, {}, img, fixtures, work, podsim.POD_NETWORK + "5", postgres)
                pods.append(pod)
                r = pod.start(spec["containers"][0])
                try:
                    r.process.wait(timeout=job["spec"].get("activeDeadlineSeconds", 600))
                except subprocess.TimeoutExpired:
                    raise Failure(f"Job {job['metadata']['name']} ran past activeDeadlineSeconds:\n{r.log()}")
                if r.process.returncode != 0:
                    raise Failure(f"Job {job['metadata']['name']} failed (exit {r.process.returncode}):\n{r.log()}")
                applied = postgres.psql(pg_conf["database"], "SELECT count(*) FROM _sqlx_migrations WHERE success")
                say(f"   the Job applied {applied} migrations")
                if int(applied) == 0:
                    raise Failure("the migration Job exited 0 but applied nothing")

            say(f"Deployment {deployment['metadata']['name']}: {started} of {replicas} replicas start at once "
                f"({' '.join(container['command'] + container.get('args', []))})")
            runs = []
            for i in range(started):
                pod = podsim.Pod(f"{deployment['metadata']['name']}-{i}", pod_spec, {}, img, fixtures, work,
                                 podsim.POD_NETWORK + str(10 + i), postgres)
                pods.append(pod)
                runs.append(pod.start(container))
            errors: list[BaseException] = []
            times: dict[int, float] = {}

            def startup(i, r):
                try:
                    times[i] = podsim.probe_until(r, container["startupProbe"], "startup probe")
                except BaseException as e:  # reported below
                    errors.append(e)

            threads = [threading.Thread(target=startup, args=(i, r)) for i, r in enumerate(runs)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if errors:
                raise errors[0]
            for i, r in enumerate(runs):
                podsim.probe_until(r, container["readinessProbe"], "readiness probe")
                podsim.probe_until(r, container["livenessProbe"], "liveness probe")
                current, peak = r.rss_kib()
                say(f"{r.pod.name}: startup, readiness and liveness probes pass on "
                    f"{r.pod.ip}:{container['startupProbe']['grpc']['port']} after {times[i]:.1f} s; "
                    f"RSS {current // 1024} MiB")
            migrations = postgres.psql(pg_conf["database"], "SELECT count(*) FROM _sqlx_migrations WHERE success")
            failed = postgres.psql(pg_conf["database"], "SELECT count(*) FROM _sqlx_migrations WHERE NOT success")
            if int(migrations) == 0 or int(failed) != 0:
                raise Failure(f"migrations: {migrations} applied, {failed} failed")
            clashes = [line for line in postgres.log().splitlines() if "already exists" in line and "ERROR" in line]
            if clashes:
                raise Failure("replicas migrated concurrently:\n" + "\n".join(clashes))
            say(f"schema at {migrations} migrations, each applied once (PostgreSQL log has no clashing DDL)")

            first = runs[0]
            address = f"{first.pod.ip}:{container['ports'][0]['containerPort']}"
            if tls:
                tls_checks(tls, first, address, container)
            if api_key:
                say("auth is on: a call without the API key is refused")
                try:
                    grpcurl(first, address, "memori.v1.MemoryService/ListFacts", {"attribution": {"entity_id": "ci-user"}}, None,
                            transport=transport)
                except Failure as e:
                    if "Unauthenticated" not in str(e):
                        raise
                else:
                    raise Failure("ListFacts without an API key succeeded, auth.existingSecret was not applied")
            say("a turn stored through the pod is embedded by augmentation and recalled")
            stored = grpcurl(first, address, "memori.v1.MemoryService/Attribute", {
                "attribution": {"entity_id": "ci-user", "process_id": "ci-helm"},
                "messages": [
                    {"role": "ROLE_USER", "content": "I moved to Lisbon last spring and I drink green tea."},
                    {"role": "ROLE_ASSISTANT", "content": "Noted: Lisbon, green tea."},
                ],
                "idempotency_key": f"ci-{name}",
            }, api_key, transport=transport)
            if not stored or not stored[0].get("turnId"):
                raise Failure(f"Attribute returned {stored}")
            waited = grpcurl(first, address, "memori.v1.MemoryService/WaitForAugmentation",
                             {"attribution": {"entity_id": "ci-user"}, "timeout": "60s"}, api_key, timeout=90,
                             transport=transport)
            if not waited or not waited[0].get("completed"):
                raise Failure(f"augmentation did not complete: {waited}\n{first.log()}")
            # Recall from the other replica when there is one: state lives in
            # PostgreSQL. With TLS, as a client balancing over the headless
            # Service would: the certificate must name that Service too.
            other = runs[-1]
            if tls and tls.headless:
                say(f"Recall on the other replica verifies the certificate as {tls.headless}")
                transport = tls.transport(authority=tls.headless)
            hits = grpcurl(other, f"{other.pod.ip}:{container['ports'][0]['containerPort']}",
                           "memori.v1.MemoryService/Recall",
                           {"attribution": {"entity_id": "ci-user"}, "query": "which city do I live in",
                            "kinds": ["MEMORY_KIND_MESSAGE"]}, api_key, transport=transport)
            if not any("Lisbon" in json.dumps(h) for h in hits):
                raise Failure(f"Recall on {other.pod.name} did not find the stored turn: {hits}")
            for r in runs:
                current, peak = r.rss_kib()
                say(f"{r.pod.name}: RSS {current // 1024} MiB now, peak {peak // 1024} MiB (model loaded and used)")
                request = (container.get("resources") or {}).get("requests", {}).get("memory")
                if request and peak * 1024 > podsim._quantity_bytes(request):
                    raise Failure(f"peak RSS {peak // 1024} MiB is above resources.requests.memory {request}")

            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            if "metrics" in ports:
                say(f"Prometheus metrics answer on {first.pod.ip}:{ports['metrics']}/metrics")
                result = first.in_netns([sys.executable, "-c", (
                    "import urllib.request,sys;"
                    f"print(urllib.request.urlopen('http://{first.pod.ip}:{ports['metrics']}/metrics', timeout=5).read().decode())")],
                    timeout=15)
                if result.returncode != 0 or "memorid_" not in result.stdout:
                    raise Failure(f"/metrics: {result.stderr.strip() or result.stdout[:200]}")

            for test in [d for d in docs if d["kind"] == "Pod" and hook(d) == "test"]:
                say(f"`helm test` pod {test['metadata']['name']} (its own command, grpcurl {test['spec']['containers'][0]['image']})")
                service = f"{RELEASE}-memorid"
                for host in (f"{service}.{namespace}.svc", f"{service}.{namespace}", service):
                    fixtures.hosts[host] = first.pod.ip
                test_image = podsim.Image({}, None, None, ["/bin/grpcurl"], [], [],
                                          [podsim.ImageFile("/usr/bin/grpcurl", tool("GRPCURL"), None, 0, 0, False)])
                pod = podsim.Pod(test["metadata"]["name"], test["spec"], {}, test_image, fixtures, work,
                                 first.pod.ip, None)
                pods.append(pod)
                r = pod.start(test["spec"]["containers"][0], netns_of=first)
                try:
                    r.process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    raise Failure(f"the test pod hung:\n{r.log()}")
                if r.process.returncode != 0:
                    raise Failure(f"the test pod failed (exit {r.process.returncode}):\n{r.log()}")
                say("   it passed: " + " ".join(line.strip() for line in r.log().splitlines() if line.strip()))

            if tls:
                tls_rotation(tls, runs, container)

            budget = grace - pre_stop
            say(f"SIGTERM (after the {pre_stop} s preStop sleep): NOT_SERVING, exit 0 within the "
                f"{budget} s left of terminationGracePeriodSeconds {grace}")
            for r in runs:
                sent = time.monotonic()
                r.process.send_signal(signal.SIGTERM)
                seen = podsim.grpc_health(r, r.pod.ip, container["readinessProbe"]["grpc"]["port"], "", 2)
                if seen == "SERVING":
                    time.sleep(0.5)
                    seen = podsim.grpc_health(r, r.pod.ip, container["readinessProbe"]["grpc"]["port"], "", 2)
                if seen == "SERVING":
                    raise Failure(f"{r.pod.name} still reports SERVING after SIGTERM")
                try:
                    r.process.wait(timeout=budget)
                except subprocess.TimeoutExpired:
                    raise Failure(f"{r.pod.name} did not exit within {budget} s of SIGTERM: the kubelet would SIGKILL it")
                if r.process.returncode != 0:
                    raise Failure(f"{r.pod.name} exited {r.process.returncode} on SIGTERM:\n{r.log()}")
                say(f"{r.pod.name}: health said {seen!r}, exited 0 after {time.monotonic() - sent:.1f} s")
        finally:
            for pod in pods:
                pod.stop_all()
            postgres.stop()


def checksums(renders: list[str]) -> None:
    """The pods roll on a configuration change: each pod template's
    checksum/config is the sha256 of the memorid.toml its ConfigMap holds,
    and different configurations give different checksums."""
    import hashlib

    seen: dict[str, str] = {}
    for path in renders:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        cm = find(docs, "ConfigMap", "server")[0]["data"]["memorid.toml"]
        annotation = find(docs, "Deployment")[0]["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        expected = hashlib.sha256(cm.removesuffix("\n").encode()).hexdigest()
        if annotation != expected:
            raise Failure(f"{path}: checksum/config {annotation} is not the sha256 of the ConfigMap's memorid.toml ({expected})")
        if annotation in seen and seen[annotation] != cm:
            raise Failure(f"{path}: two different configurations share the checksum {annotation}")
        seen[annotation] = cm
    if len(set(seen)) < 2:
        raise Failure("every render has the same configuration: the checksum check proves nothing")
    say(f"checksum/config is the sha256 of the ConfigMap's memorid.toml in all {len(renders)} renders "
        f"({len(seen)} distinct configurations)")


def main() -> int:
    command = sys.argv[1]
    try:
        if command == "config-parity":
            config_parity()
        elif command == "dockerfile":
            dockerfile_check()
        elif command == "checksums":
            checksums(sys.argv[2:])
        elif command == "image-run":
            image_run()
        elif command == "run":
            run(sys.argv[2], sys.argv[3:])
        else:
            raise SystemExit(f"unknown command {command}")
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
