"""Runs a rendered pod's containers on this machine the way a node would.

No cluster runs here, so this emulates the parts of a Kubernetes node that
decide whether memorid starts: for each pod a network namespace of its own
(loopback plus a pod IP, so a server bound to 127.0.0.1 fails its probes as
it would in a cluster) and a mount namespace with a root filesystem built
from the image the repository's Dockerfile describes (the host's /usr and
libraries standing in for distroless' glibc, plus the files the runtime
stage copies: the release binary, the model, the default config). Into that
root go the pod's volumes (ConfigMap and Secret files with their modes and
fsGroup ownership, emptyDirs as tmpfs, PersistentVolumeClaims from
fixtures); a read-only root filesystem is remounted read-only; the process
runs chrooted, as the pod's UID/GID with fsGroup and supplemental groups,
with all capabilities dropped and no_new_privs when the securityContext
says so. Environment variables resolve as the kubelet resolves them
(secretKeyRef / configMapKeyRef / fieldRef, $(VAR) references), and the
command is the container's command/args over the image's
ENTRYPOINT/CMD. Probes are gRPC health checks on the pod IP, sent from
inside the pod's network namespace like the kubelet's.

Not emulated: seccomp, cgroup limits (memory is measured, not enforced),
the kubelet's ..data symlink layout of projected files, image pulls.

Run by scripts/ci-helm as root (namespaces, mounts and chroot need it).
"""

from __future__ import annotations

import asyncio
import ctypes
import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import image as dockerfile  # noqa: E402

# Where the emulated cluster puts things.
POD_NETWORK = "10.244.0."
POSTGRES_SERVICE_IP = "10.96.0.5"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Failure(Exception):
    """A check failed; the message says what and why."""


# --- the image --------------------------------------------------------------


@dataclasses.dataclass
class ImageFile:
    dest: str
    host_path: str | None  # a file or folder on this machine
    content: str | None  # a heredoc
    uid: int
    gid: int
    is_dir: bool


@dataclasses.dataclass
class Image:
    env: dict[str, str]
    user: str | None
    workdir: str | None
    entrypoint: list[str]
    cmd: list[str]
    exposed: list[int]
    files: list[ImageFile]


def load_image(dockerfile_path: str, artifacts: dict[tuple[str, str], str | None]) -> Image:
    """The runtime (last) stage of the Dockerfile. `artifacts` says what
    another stage's path is on this machine: (stage, path) -> a host path,
    or None for an empty folder."""
    stages = dockerfile.parse(dockerfile_path)
    final = stages[-1]
    files = []
    for copy in dockerfile.copies(final):
        uid = gid = 0
        if copy.chown:
            user, _, group = copy.chown.partition(":")
            uid = int(user)
            gid = int(group or user)
        if copy.heredoc is not None:
            files.append(ImageFile(copy.dest, None, copy.heredoc, uid, gid, False))
            continue
        for source in copy.sources:
            if source.stage is None:
                raise Failure(
                    f"Dockerfile line {copy.line}: the runtime stage copies {source.path} from the "
                    "build context; ci-helm only knows artifacts of earlier stages"
                )
            key = (source.stage, source.path)
            if key not in artifacts:
                raise Failure(
                    f"Dockerfile line {copy.line}: ci-helm does not know what stage {source.stage}'s "
                    f"{source.path} is on this machine (teach helm/ci/check.py's ARTIFACTS)"
                )
            host = artifacts[key]
            is_dir = host is None or os.path.isdir(host)
            dest = copy.dest
            if not is_dir and dest.endswith("/"):
                dest += os.path.basename(source.path)
            files.append(ImageFile(dest.rstrip("/") or "/", host, None, uid, gid, is_dir))
    user = dockerfile.last(final, "USER")
    workdir = dockerfile.last(final, "WORKDIR")
    expose = dockerfile.last(final, "EXPOSE")
    return Image(
        env=dockerfile.env(final),
        user=user.args if user else None,
        workdir=workdir.args if workdir else None,
        entrypoint=dockerfile.exec_form(final, "ENTRYPOINT") or [],
        cmd=dockerfile.exec_form(final, "CMD") or [],
        exposed=[int(p.split("/")[0]) for p in expose.args.split()] if expose else [],
        files=files,
    )


# --- fixtures: what the cluster holds besides the chart ----------------------


@dataclasses.dataclass
class Fixtures:
    secrets: dict[str, dict[str, bytes]]
    config_maps: dict[str, dict[str, str]]
    claims: dict[str, str]  # PersistentVolumeClaim name -> host folder
    hosts: dict[str, str]  # DNS name -> IP, the cluster's Services
    namespace: str


# --- PostgreSQL ---------------------------------------------------------------


class Postgres:
    """A throwaway PostgreSQL on a Unix socket only, with password auth, as
    `postgres.db.svc` would be; pods reach it through a forwarder on
    POSTGRES_SERVICE_IP:5432 inside their own network namespace."""

    def __init__(self, pg_bin: str, work: str, user: str, password: str, database: str):
        self.pg_bin = pg_bin
        self.dir = os.path.join(work, "postgres")
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = _free_port()
        self.socket = os.path.join(self.dir, f".s.PGSQL.{self.port}")
        superpw = os.path.join(self.dir, "superpw")
        with open(superpw, "w") as f:
            f.write("ci-superuser\n")
        shutil.chown(superpw, "postgres", "postgres")
        self._as_postgres(
            "initdb", "-D", f"{self.dir}/data", "-U", "postgres", "--pwfile", superpw,
            "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C",
            "--no-sync",
        )
        self._as_postgres(
            "pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses='' -c fsync=off", "start",
        )
        self.started = True
        self.psql("postgres", f"CREATE ROLE {user} LOGIN PASSWORD '{password}'")
        self.psql("postgres", f"CREATE DATABASE {database} OWNER {user}")
        self.database = database

    def _as_postgres(self, tool: str, *args: str) -> str:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", os.path.join(self.pg_bin, tool), *args],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise Failure(f"PostgreSQL {tool} failed: {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def psql(self, database: str, sql: str) -> str:
        env = dict(os.environ, PGPASSWORD="ci-superuser")
        result = subprocess.run(
            [os.path.join(self.pg_bin, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", self.dir, "-p", str(self.port), "-U", "postgres", "-d", database, "-c", sql],
            capture_output=True, text=True, env=env,
        )
        if result.returncode != 0:
            raise Failure(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def log(self) -> str:
        try:
            with open(f"{self.dir}/log", encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self) -> None:
        if getattr(self, "started", False):
            subprocess.run(
                ["runuser", "-u", "postgres", "--", os.path.join(self.pg_bin, "pg_ctl"), "-D",
                 f"{self.dir}/data", "-m", "immediate", "stop"],
                capture_output=True,
            )
            self.started = False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- one pod ------------------------------------------------------------------


def _quantity_bytes(quantity: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(quantity))
    if not match or (match.group(2) and match.group(2) not in units):
        raise Failure(f"cannot read the quantity {quantity!r}")
    return int(float(match.group(1)) * units.get(match.group(2), 1))


class Running:
    """A container process started by Pod.start."""

    def __init__(self, pod: "Pod", container: dict, process: subprocess.Popen, log_path: str):
        self.pod = pod
        self.container = container
        self.process = process
        self.log_path = log_path
        self.started_at = time.monotonic()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self, tail: int = 40) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-tail:])

    def rss_kib(self) -> tuple[int, int]:
        """(current, peak) resident memory."""
        values = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0])
        return values.get("VmRSS", 0), values.get("VmHWM", 0)

    def in_netns(self, argv: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["nsenter", "-t", str(self.pid), "-n", *argv], capture_output=True, text=True,
            timeout=timeout, **kwargs,
        )

    def kill(self) -> None:
        """Kills the container's whole process group, also when its main
        process has already exited (helpers such as the forwarder stay)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()


class Pod:
    def __init__(self, name: str, spec: dict, labels: dict, img: Image, fixtures: Fixtures,
                 work: str, ip: str, postgres: Postgres | None):
        self.name = name
        self.spec = spec
        self.labels = labels
        self.image = img
        self.fixtures = fixtures
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir)
        self.ip = ip
        self.postgres = postgres
        self.running: list[Running] = []

    # Kubernetes semantics -------------------------------------------------

    def _security(self, container: dict) -> dict:
        pod = self.spec.get("securityContext") or {}
        own = container.get("securityContext") or {}
        merged = {k: pod[k] for k in ("runAsUser", "runAsGroup", "runAsNonRoot") if k in pod}
        merged.update({k: v for k, v in own.items()})
        user, group = None, None
        if self.image.user:
            u, _, g = self.image.user.partition(":")
            if not u.isdigit() or (g and not g.isdigit()):
                if merged.get("runAsNonRoot") and "runAsUser" not in merged:
                    raise Failure(
                        f"image USER {self.image.user!r} is not numeric: the kubelet cannot verify "
                        "runAsNonRoot"
                    )
            else:
                user, group = int(u), int(g) if g else None
        uid = merged.get("runAsUser", user if user is not None else 0)
        gid = merged.get("runAsGroup", group if group is not None else 0)
        if merged.get("runAsNonRoot") and uid == 0:
            raise Failure(f"{self.name}/{container['name']}: runAsNonRoot is set but the user is root")
        groups = [gid]
        if "fsGroup" in pod:
            groups.append(pod["fsGroup"])
        groups += pod.get("supplementalGroups", [])
        caps = (own.get("capabilities") or {}).get("drop", [])
        return {
            "uid": uid,
            "gid": gid,
            "groups": sorted(set(groups)),
            "drop_all_caps": "ALL" in caps,
            "no_new_privs": own.get("allowPrivilegeEscalation") is False,
            "read_only_root": bool(own.get("readOnlyRootFilesystem")),
            "fs_group": pod.get("fsGroup"),
        }

    def _env(self, container: dict) -> dict[str, str]:
        env = {"PATH": DEFAULT_PATH}
        env.update(self.image.env)
        env["HOSTNAME"] = self.name

        def expand(value: str) -> str:
            # $(VAR) refers to a variable defined earlier; $$ escapes.
            return re.sub(
                r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)),
                value,
            )

        for source in container.get("envFrom", []):
            ref = source.get("secretRef") or source.get("configMapRef")
            data = self._lookup("secret" if "secretRef" in source else "configMap", ref["name"], None,
                                ref.get("optional", False))
            for key, value in (data or {}).items():
                env[source.get("prefix", "") + key] = value
        for var in container.get("env", []):
            name = var["name"]
            if "value" in var:
                env[name] = expand(str(var["value"]))
                continue
            source = var.get("valueFrom") or {}
            if "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                value = self._lookup("secret", ref["name"], ref["key"], ref.get("optional", False))
            elif "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                value = self._lookup("configMap", ref["name"], ref["key"], ref.get("optional", False))
            elif "fieldRef" in source:
                path = source["fieldRef"]["fieldPath"]
                value = {
                    "metadata.name": self.name,
                    "metadata.namespace": self.fixtures.namespace,
                    "status.podIP": self.ip,
                    "spec.nodeName": "ci-node",
                    "spec.serviceAccountName": self.spec.get("serviceAccountName", "default"),
                }.get(path)
                if value is None:
                    raise Failure(f"env {name}: fieldRef {path} is not emulated")
            else:
                raise Failure(f"env {name}: {sorted(source)} is not emulated")
            if value is not None:
                env[name] = value
        if "HOME" not in env:
            env["HOME"] = "/home/nonroot"
        return env

    def _lookup(self, kind: str, name: str, key: str | None, optional: bool):
        store = self.fixtures.secrets if kind == "secret" else self.fixtures.config_maps
        if name not in store:
            if optional:
                return None
            raise Failure(
                f"{self.name}: {kind} {name!r} does not exist (the pod would stay in "
                "CreateContainerConfigError)"
            )
        data = store[name]
        if key is None:
            return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in data.items()}
        if key not in data:
            if optional:
                return None
            raise Failure(f"{self.name}: {kind} {name!r} has no key {key!r}")
        value = data[key]
        return value.decode() if isinstance(value, bytes) else value

    def _argv(self, container: dict, env: dict[str, str]) -> list[str]:
        def expand(value: str) -> str:
            return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), value)

        if container.get("command"):
            argv = list(container["command"]) + list(container.get("args") or [])
        else:
            argv = list(self.image.entrypoint) + list(
                container["args"] if "args" in container else self.image.cmd
            )
        if not argv:
            raise Failure(f"{self.name}/{container['name']}: no command (none in the pod, none in the image)")
        return [expand(str(a)) for a in argv]

    def _volume_source(self, volume: dict, security: dict) -> tuple[str, dict]:
        """Prepares a volume on this machine; returns (kind, details)."""
        name = volume["name"]
        target = os.path.join(self.dir, "volumes", name)
        if "configMap" in volume or "secret" in volume:
            is_secret = "secret" in volume
            source = volume["secret"] if is_secret else volume["configMap"]
            ref = source["secretName"] if is_secret else source["name"]
            data = self._lookup("secret" if is_secret else "configMap", ref, None, source.get("optional", False))
            os.makedirs(target)
            items = source.get("items") or [{"key": k, "path": k} for k in sorted(data or {})]
            default_mode = source.get("defaultMode", 0o644)
            for item in items:
                if item["key"] not in (data or {}):
                    raise Failure(f"volume {name}: {'secret' if is_secret else 'configMap'} {ref!r} has no key {item['key']!r}")
                path = os.path.join(target, item["path"])
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(data[item["key"]])
                mode = item.get("mode", default_mode)
                gid = 0
                if security["fs_group"] is not None:
                    # The kubelet hands these to fsGroup and makes them
                    # group-readable (pkg/volume: SetVolumeOwnership, roMask).
                    gid = security["fs_group"]
                    mode |= 0o440
                os.chown(path, 0, gid)
                os.chmod(path, mode)
            os.chmod(target, 0o755 if security["fs_group"] is None else 0o2755)
            if security["fs_group"] is not None:
                os.chown(target, 0, security["fs_group"])
            return "bind", {"path": target}
        if "emptyDir" in volume:
            size = (volume["emptyDir"] or {}).get("sizeLimit")
            options = "mode=0777"
            if security["fs_group"] is not None:
                options = f"mode=2777,gid={security['fs_group']}"
            if size:
                options += f",size={_quantity_bytes(size)}"
            return "tmpfs", {"options": options}
        if "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]["claimName"]
            if claim not in self.fixtures.claims:
                raise Failure(f"volume {name}: PersistentVolumeClaim {claim!r} does not exist")
            return "bind", {"path": self.fixtures.claims[claim],
                            "read_only": volume["persistentVolumeClaim"].get("readOnly", False)}
        raise Failure(f"volume {name}: {sorted(k for k in volume if k != 'name')} is not emulated")

    # Building the container's root ---------------------------------------

    def _root_ops(self, container: dict, security: dict, root: str) -> list[list]:
        ops: list[list] = [["tmpfs", root, "mode=0755,size=64m"]]
        for entry in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = "/" + entry
            if os.path.islink(host):
                ops.append(["symlink", os.readlink(host), f"{root}/{entry}"])
            elif os.path.isdir(host):
                ops += [["mkdir", f"{root}/{entry}", 0o755, 0, 0], ["bind", host, f"{root}/{entry}", True]]
        layers = []
        for entry in ("usr", "etc"):
            upper = os.path.join(self.dir, f"{container['name']}-{entry}-upper")
            workdir = os.path.join(self.dir, f"{container['name']}-{entry}-work")
            os.makedirs(upper)
            os.makedirs(workdir)
            ops += [["mkdir", f"{root}/{entry}", 0o755, 0, 0], ["overlay", f"/{entry}", upper, workdir, f"{root}/{entry}"]]
            layers.append(f"{root}/{entry}")
        ops += [
            ["mkdir", f"{root}/dev", 0o755, 0, 0], ["rbind", "/dev", f"{root}/dev"],
            ["mkdir", f"{root}/proc", 0o555, 0, 0], ["proc", f"{root}/proc"],
            ["mkdir", f"{root}/sys", 0o555, 0, 0], ["rbind", "/sys", f"{root}/sys"],
            # distroless' base folders
            ["mkdir", f"{root}/tmp", 0o1777, 0, 0],
            ["mkdir", f"{root}/run", 0o755, 0, 0],
            ["mkdir", f"{root}/var", 0o755, 0, 0],
            ["symlink", "../run", f"{root}/var/run"],
            ["mkdir", f"{root}/home/nonroot", 0o700, 65532, 65532],
        ]
        # The image's own files.
        for f in self.image.files:
            dest = root + f.dest
            if f.content is not None:
                ops.append(["write", dest, f.content, 0o644, f.uid, f.gid])
            elif f.host_path is None:
                ops.append(["mkdir", dest, 0o755, f.uid, f.gid])
            elif f.is_dir:
                ops += [["mkdir", dest, 0o755, f.uid, f.gid], ["bind", f.host_path, dest, True]]
            else:
                ops += [["touch", dest], ["bind", f.host_path, dest, True]]
        if self.image.workdir:
            # WORKDIR creates a missing folder (as root), leaves one alone.
            ops.append(["mkdir_missing", root + self.image.workdir, 0o755, 0, 0])
        # The kubelet's /etc/hosts: the pod itself and, standing in for the
        # cluster DNS, the Services this emulation provides.
        hosts = [f"127.0.0.1\tlocalhost", f"{self.ip}\t{self.name}"]
        hosts += [f"{ip}\t{name}" for name, ip in sorted(self.fixtures.hosts.items())]
        ops.append(["write", f"{root}/etc/hosts", "\n".join(hosts) + "\n", 0o644, 0, 0])
        # Volumes, shortest mount path first.
        volumes = {v["name"]: v for v in self.spec.get("volumes", [])}
        mounts = sorted(container.get("volumeMounts", []), key=lambda m: len(m["mountPath"]))
        prepared: dict[str, tuple[str, dict]] = {}
        mount_ops = []
        for mount in mounts:
            if mount["name"] not in volumes:
                raise Failure(f"{self.name}/{container['name']}: volumeMount {mount['name']} has no volume")
            if mount["name"] not in prepared:
                prepared[mount["name"]] = self._volume_source(volumes[mount["name"]], security)
            kind, details = prepared[mount["name"]]
            dest = root + mount["mountPath"]
            ops.append(["mkdir_missing", dest, 0o755, 0, 0])
            read_only = bool(mount.get("readOnly")) or details.get("read_only", False)
            if kind == "tmpfs":
                mount_ops.append(["tmpfs", dest, details["options"]])
            else:
                source = details["path"]
                if mount.get("subPath"):
                    source = os.path.join(source, mount["subPath"])
                    if not os.path.exists(source):
                        raise Failure(f"volumeMount {mount['name']}: subPath {mount['subPath']} does not exist")
                mount_ops.append(["bind", source, dest, read_only])
        ops += mount_ops
        if security["read_only_root"]:
            ops += [["remount_ro", layer] for layer in layers] + [["remount_ro", root]]
        return ops

    def start(self, container: dict, forward_postgres: bool = True, netns_of: Running | None = None) -> Running:
        """Starts one container. `netns_of`: share that container's network
        namespace instead of getting one (how a client pod reaches a Service
        here: the Service's name resolves to that pod's IP)."""
        security = self._security(container)
        env = self._env(container)
        argv = self._argv(container, env)
        root = os.path.join(self.dir, f"{container['name']}-root")
        os.makedirs(root)
        workdir = container.get("workingDir") or self.image.workdir or "/"
        spec = {
            "ips": [self.ip],
            "forwards": [],
            "ops": self._root_ops(container, security, root),
            "root": root,
            "workdir": workdir,
            "security": security,
            "argv": argv,
            "env": env,
        }
        if netns_of is not None:
            spec["ips"] = []
        elif forward_postgres and self.postgres is not None:
            spec["ips"].append(POSTGRES_SERVICE_IP)
            spec["forwards"].append([POSTGRES_SERVICE_IP, 5432, self.postgres.socket])
        spec_path = os.path.join(self.dir, f"{container['name']}.json")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        log_path = os.path.join(self.dir, f"{container['name']}.log")
        log = open(log_path, "w")
        if netns_of is None:
            namespaces = ["unshare", "--mount", "--net", "--propagation", "private"]
        else:
            namespaces = ["nsenter", "-t", str(netns_of.pid), "-n", "unshare", "--mount", "--propagation", "private"]
        process = subprocess.Popen(
            [*namespaces, sys.executable, __file__, "_inner", spec_path],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            # Its own process group: the container and its helpers (the
            # PostgreSQL forwarder) are killed together.
            start_new_session=True,
        )
        log.close()
        running = Running(self, container, process, log_path)
        self.running.append(running)
        return running

    def update_secret(self, volume: str, data: dict[str, str]) -> None:
        """What the kubelet does when a mounted Secret changes: the files of
        an already prepared Secret volume get the new contents, keeping
        their mode and owner. The kubelet swaps its ..data symlink, so all
        keys change at once; here each key is renamed into place, one right
        after another (not emulated: the symlink layout)."""
        folder = os.path.join(self.dir, "volumes", volume)
        if not os.path.isdir(folder):
            raise Failure(f"{self.name}: no prepared volume {volume!r} to update")
        for key, value in data.items():
            path = os.path.join(folder, key)
            st = os.stat(path)
            partial = os.path.join(folder, f".{key}.partial")
            with open(partial, "w") as f:
                f.write(value)
            os.chown(partial, st.st_uid, st.st_gid)
            os.chmod(partial, st.st_mode & 0o7777)
            os.replace(partial, path)

    def stop_all(self) -> None:
        for running in self.running:
            running.kill()


# --- probes -------------------------------------------------------------------


def grpc_health(running: Running, host: str, port: int, service: str, timeout: float) -> str:
    """What a kubelet gRPC probe sees: SERVING, another status, or an error."""
    try:
        result = running.in_netns(
            [sys.executable, __file__, "_probe", host, str(port), service, str(timeout)], timeout=timeout + 10
        )
    except subprocess.TimeoutExpired:
        return "error: probe hung"
    out = result.stdout.strip()
    if out:
        return out
    err = result.stderr.strip().splitlines()
    return "error: " + (err[-1] if err else f"probe exited {result.returncode}")


def probe_until(running: Running, probe: dict, what: str) -> float:
    """Runs a probe the way the kubelet does; returns seconds until success.
    Fails when failureThreshold attempts in a row fail."""
    if "grpc" not in probe:
        raise Failure(f"{what}: only gRPC probes are emulated, got {sorted(probe)}")
    port = probe["grpc"]["port"]
    service = probe["grpc"].get("service", "")
    period = probe.get("periodSeconds", 10)
    timeout = probe.get("timeoutSeconds", 1)
    threshold = probe.get("failureThreshold", 3)
    time.sleep(probe.get("initialDelaySeconds", 0))
    started = time.monotonic()
    failures = 0
    last = ""
    while True:
        if not running.alive():
            raise Failure(
                f"{running.pod.name}/{running.container['name']} exited with code "
                f"{running.process.returncode} before its {what} succeeded:\n{running.log()}"
            )
        attempt = time.monotonic()
        last = grpc_health(running, running.pod.ip, port, service, timeout)
        if last == "SERVING":
            return time.monotonic() - started
        failures += 1
        if failures >= threshold:
            raise Failure(
                f"{running.pod.name}: {what} failed {failures} times in a row "
                f"(grpc {running.pod.ip}:{port} service {service!r}: {last}); the kubelet would "
                f"{'restart the container' if what != 'readiness probe' else 'keep it out of the Service'}"
                f":\n{running.log()}"
            )
        time.sleep(max(0.0, period - (time.monotonic() - attempt)))


# --- inside the namespaces ------------------------------------------------------


def _inner(spec_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)

    def run(*argv: str) -> None:
        result = subprocess.run(argv, capture_output=True, text=True)
        if result.returncode != 0:
            sys.stderr.write(f"podsim: {' '.join(argv)}: {result.stderr}")
            sys.exit(125)

    if spec["ips"]:
        run("ip", "link", "set", "lo", "up")
    for ip in spec["ips"]:
        run("ip", "addr", "add", f"{ip}/32", "dev", "lo")
    for listen_ip, listen_port, unix_path in spec["forwards"]:
        _spawn_forwarder(listen_ip, listen_port, unix_path)
    for op in spec["ops"]:
        kind = op[0]
        if kind == "tmpfs":
            run("mount", "-t", "tmpfs", "-o", op[2], "tmpfs", op[1])
        elif kind == "bind":
            run("mount", "--bind", op[1], op[2])
            if op[3]:
                run("mount", "-o", "remount,bind,ro", op[2])
        elif kind == "rbind":
            run("mount", "--rbind", op[1], op[2])
        elif kind == "overlay":
            run("mount", "-t", "overlay", "overlay", "-o", f"lowerdir={op[1]},upperdir={op[2]},workdir={op[3]}", op[4])
        elif kind == "proc":
            run("mount", "-t", "proc", "proc", op[1])
        elif kind == "mkdir_missing":
            if not os.path.lexists(op[1]):
                os.makedirs(op[1])
                os.chown(op[1], op[3], op[4])
                os.chmod(op[1], op[2])
        elif kind == "mkdir":
            os.makedirs(op[1], exist_ok=True)
            os.chown(op[1], op[3], op[4])
            os.chmod(op[1], op[2])
        elif kind == "symlink":
            if not os.path.lexists(op[2]):
                os.symlink(op[1], op[2])
        elif kind == "touch":
            os.makedirs(os.path.dirname(op[1]), exist_ok=True)
            open(op[1], "a").close()
        elif kind == "write":
            os.makedirs(os.path.dirname(op[1]), exist_ok=True)
            with open(op[1], "w") as f:
                f.write(op[2])
            os.chown(op[1], op[4], op[5])
            os.chmod(op[1], op[3])
        elif kind == "remount_ro":
            run("mount", "-o", "remount,ro", op[1])
        else:
            sys.exit(f"podsim: unknown op {kind}")
    security = spec["security"]
    os.chroot(spec["root"])
    try:
        os.chdir(spec["workdir"])
    except OSError as e:
        sys.exit(f"podsim: workingDir {spec['workdir']}: {e}")
    argv = ["/usr/bin/setpriv", f"--reuid={security['uid']}", f"--regid={security['gid']}"]
    argv.append("--groups=" + ",".join(str(g) for g in security["groups"]))
    if security["drop_all_caps"]:
        argv += ["--inh-caps=-all", "--bounding-set=-all"]
    if security["no_new_privs"]:
        argv.append("--no-new-privs")
    argv += ["--", *spec["argv"]]
    os.execve(argv[0], argv, spec["env"])


def _spawn_forwarder(listen_ip: str, listen_port: int, unix_path: str) -> None:
    """A TCP listener in this network namespace that forwards to a Unix
    socket on the host: the Service in front of PostgreSQL. Bound before
    the container starts, and gone when the container's process ends."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(ready_w)
        os.read(ready_r, 1)
        os.close(ready_r)
        return
    os.close(ready_r)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the container

    async def pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def handle(reader, writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_unix_connection(unix_path)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def main():
        server = await asyncio.start_server(handle, listen_ip, listen_port)
        os.write(ready_w, b"1")
        os.close(ready_w)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(main())
    finally:
        os._exit(0)


def _probe(host: str, port: str, service: str, timeout: str) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    target = f"{host}:{port}"
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=float(timeout))
        except grpc.RpcError as e:
            print(f"error: {e.code().name}: {e.details()}")
            return
        print(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


if __name__ == "__main__":
    if sys.argv[1] == "_inner":
        _inner(sys.argv[2])
    elif sys.argv[1] == "_probe":
        _probe(*sys.argv[2:6])
