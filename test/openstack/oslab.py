#!/usr/bin/python3
"""Idempotent setup of the canopy test OpenStack's contents (run by up.sh).

    oslab.py catalog     projects, users, roles, services, endpoints
    oslab.py resources   flavors, image, networks, router, volume type, quotas
    oslab.py appcred     (re)create the test user's application credential
    oslab.py wait-compute  until the fake compute node is usable by the scheduler
    oslab.py wait-volume   until cinder-scheduler knows the volume backend's pool

Each object is found by name first and created only when missing. Settings come
from environment variables exported by up.sh. Runs on Debian's /usr/bin/python3
(openstacksdk from python3-openstacksdk).
"""
import os
import sys
import time

import openstack

E = os.environ


def log(msg):
    print(f"  {msg}", flush=True)


def admin_conn():
    return openstack.connect(
        auth=dict(
            auth_url=E["KEYSTONE_URL"],
            username="admin",
            password=E["ADMIN_PW"],
            project_name="admin",
            user_domain_name="Default",
            project_domain_name="Default",
        ),
        region_name=E["REGION"],
        identity_api_version="3",
        interface="public",
    )


# --- identity and catalogue ----------------------------------------------

SERVICE_USERS = ["glance", "placement", "nova", "neutron", "cinder", "swift"]

HOST = E.get("HOST", "127.0.0.1")
SERVICES = [
    # name, type, url
    ("glance", "image", f"http://{HOST}:{E['PORT_GLANCE']}"),
    ("placement", "placement", f"http://{HOST}:{E['PORT_PLACEMENT']}"),
    ("nova", "compute", f"http://{HOST}:{E['PORT_NOVA']}/v2.1"),
    ("neutron", "network", f"http://{HOST}:{E['PORT_NEUTRON']}"),
    ("cinderv3", "volumev3", f"http://{HOST}:{E['PORT_CINDER']}/v3/%(project_id)s"),
    ("cinder", "block-storage", f"http://{HOST}:{E['PORT_CINDER']}/v3/%(project_id)s"),
    ("swift", "object-store", f"http://{HOST}:{E['PORT_SWIFT']}/v1/AUTH_%(project_id)s"),
]


def ensure_project(c, name, desc):
    p = c.identity.find_project(name, domain_id="default")
    if p is None:
        p = c.identity.create_project(name=name, domain_id="default", description=desc)
        log(f"project {name} created")
    return p


def ensure_role(c, name):
    r = c.identity.find_role(name)
    if r is None:
        r = c.identity.create_role(name=name)
        log(f"role {name} created")
    return r


def ensure_user(c, name, password, project):
    u = c.identity.find_user(name, domain_id="default")
    if u is None:
        u = c.identity.create_user(
            name=name, password=password, domain_id="default", default_project_id=project.id
        )
        log(f"user {name} created")
    else:
        # keep the password in line with the lab's secrets file
        c.identity.update_user(u, password=password)
    return u


def grant(c, role, user, project):
    c.identity.assign_project_role_to_user(project, user, role)


def catalog():
    c = admin_conn()
    roles = {n: ensure_role(c, n) for n in ("admin", "member", "reader", "service", "ResellerAdmin")}
    service_project = ensure_project(c, "service", "OpenStack services")
    for name in SERVICE_USERS:
        u = ensure_user(c, name, E["SERVICE_PW"], service_project)
        grant(c, roles["admin"], u, service_project)
        grant(c, roles["service"], u, service_project)
    test_project = ensure_project(c, E["TEST_PROJECT"], "canopy tests")
    tu = ensure_user(c, E["TEST_USER"], E["TEST_PW"], test_project)
    grant(c, roles["member"], tu, test_project)
    grant(c, roles["reader"], tu, test_project)
    admin = c.identity.find_user("admin", domain_id="default")
    grant(c, roles["admin"], admin, test_project)

    for name, stype, url in SERVICES:
        svc = None
        for s in c.identity.services():
            if s.name == name and s.type == stype:
                svc = s
        if svc is None:
            svc = c.identity.create_service(name=name, type=stype, description=f"{name} ({stype})")
            log(f"service {name} ({stype}) created")
        have = {e.interface: e for e in c.identity.endpoints(service_id=svc.id)}
        for iface in ("public", "internal", "admin"):
            e = have.get(iface)
            if e is None:
                c.identity.create_endpoint(
                    service_id=svc.id, interface=iface, url=url, region_id=E["REGION"]
                )
            elif e.url != url:
                c.identity.update_endpoint(e, url=url)


# --- resources for tests --------------------------------------------------

FLAVORS = [
    # name, vcpus, ram MiB, disk GB
    (E["TEST_FLAVOR"], 1, 256, 1),
    ("canopy.small", 1, 2048, 10),
    ("canopy.medium", 2, 4096, 20),
    ("canopy.large", 4, 8192, 40),
]


def image_file():
    """A small raw disk image made from bytes: 64 KiB, an MBR signature and a marker."""
    path = os.path.join(E["DATA"], "canopy-test-image.raw")
    if not os.path.exists(path):
        data = bytearray(64 * 1024)
        marker = b"canopy test image: not bootable, the compute driver is fake\n"
        data[0 : len(marker)] = marker
        data[510:512] = b"\x55\xaa"
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.rename(path + ".tmp", path)
    return path


def resources():
    c = admin_conn()
    project = c.identity.find_project(E["TEST_PROJECT"], domain_id="default")

    for name, vcpus, ram, disk in FLAVORS:
        if c.compute.find_flavor(name, ignore_missing=True) is None:
            c.compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=disk, is_public=True)
            log(f"flavor {name} created ({vcpus} vCPU, {ram} MiB, {disk} GB)")

    img = c.image.find_image(E["TEST_IMAGE"], ignore_missing=True)
    if img is not None and img.status != "active":
        log(f"image {E['TEST_IMAGE']} is {img.status}: recreating")
        c.image.delete_image(img)
        img = None
    if img is None:
        img = c.create_image(
            E["TEST_IMAGE"],
            filename=image_file(),
            disk_format="raw",
            container_format="bare",
            visibility="public",
            wait=True,
            timeout=120,
        )
        log(f"image {E['TEST_IMAGE']} uploaded ({img.id})")

    net = c.network.find_network(E["EXT_NETWORK"], ignore_missing=True)
    if net is None:
        net = c.network.create_network(
            name=E["EXT_NETWORK"],
            is_router_external=True,
            is_shared=False,
            provider_network_type="flat",
            provider_physical_network="public",
        )
        log(f"network {E['EXT_NETWORK']} (external) created")
    ext = net
    if c.network.find_subnet(E["EXT_SUBNET"], ignore_missing=True) is None:
        c.network.create_subnet(
            name=E["EXT_SUBNET"],
            network_id=ext.id,
            ip_version=4,
            cidr="172.24.4.0/24",
            gateway_ip="172.24.4.1",
            allocation_pools=[{"start": "172.24.4.10", "end": "172.24.4.250"}],
            is_dhcp_enabled=False,
        )

    net = c.network.find_network(E["TEST_NETWORK"], ignore_missing=True)
    if net is None:
        net = c.network.create_network(name=E["TEST_NETWORK"], project_id=project.id)
        log(f"network {E['TEST_NETWORK']} created (project {E['TEST_PROJECT']})")
    sub = c.network.find_subnet(E["TEST_SUBNET"], ignore_missing=True)
    if sub is None:
        sub = c.network.create_subnet(
            name=E["TEST_SUBNET"],
            network_id=net.id,
            project_id=project.id,
            ip_version=4,
            cidr="10.42.0.0/24",
            dns_nameservers=[],
        )
    rt = c.network.find_router(E["TEST_ROUTER"], ignore_missing=True)
    if rt is None:
        rt = c.network.create_router(
            name=E["TEST_ROUTER"],
            project_id=project.id,
            external_gateway_info={"network_id": ext.id},
        )
        c.network.add_interface_to_router(rt, subnet_id=sub.id)
        log(f"router {E['TEST_ROUTER']} created ({E['TEST_SUBNET']} -> {E['EXT_NETWORK']})")

    vt = c.block_storage.find_type(E["VOLUME_TYPE"], ignore_missing=True)
    if vt is None:
        c.block_storage.create_type(
            name=E["VOLUME_TYPE"],
            extra_specs={"volume_backend_name": E["VOLUME_TYPE"]},
        )
        log(f"volume type {E['VOLUME_TYPE']} created")

    # Room for tests that run in parallel (the compute driver is fake).
    c.set_compute_quotas(project.id, instances=100, cores=400, ram=1024 * 1024)
    c.set_volume_quotas(project.id, volumes=100, gigabytes=2000, snapshots=100)
    c.set_network_quotas(project.id, floatingip=100, port=500, network=50, subnet=50, router=20)


def appcred():
    """An application credential of the test user; its id goes to $STATE/appcred.id."""
    c = openstack.connect(
        auth=dict(
            auth_url=E["KEYSTONE_URL"],
            username=E["TEST_USER"],
            password=E["TEST_PW"],
            project_name=E["TEST_PROJECT"],
            user_domain_name="Default",
            project_domain_name="Default",
        ),
        region_name=E["REGION"],
        identity_api_version="3",
    )
    user_id = c.current_user_id
    name = E["APPCRED_NAME"]
    ac = c.identity.find_application_credential(user_id, name, ignore_missing=True)
    if ac is not None:
        c.identity.delete_application_credential(user_id, ac.id)
    ac = c.identity.create_application_credential(
        user_id, name, secret=E["APPCRED_SECRET"], description="canopy tests"
    )
    log(f"application credential {name} created ({ac.id})")
    with open(os.path.join(E["STATE"], "appcred.id"), "w") as f:
        f.write(ac.id + "\n")


def wait_compute(timeout=180):
    """Until the fake hypervisor is in placement and the cell (i.e. schedulable)."""
    c = admin_conn()
    host = E["COMPUTE_HOST"]
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            svcs = [s for s in c.compute.services() if s.binary == "nova-compute" and s.host == host]
            hyps = [h for h in c.compute.hypervisors()]
            if svcs and svcs[0].state == "up" and hyps:
                rps = list(c.placement.resource_providers(name=hyps[0].name))
                if rps:
                    return
            last = f"services={[(s.host, s.state) for s in svcs]} hypervisors={len(hyps)}"
        except Exception as e:  # noqa: BLE001 - keep polling while services settle
            last = repr(e)
        time.sleep(2)
    sys.exit(f"nova-compute on {host} not usable after {timeout}s: {last}")


def wait_volume(timeout=150):
    """Until cinder-scheduler has the backend's capabilities (else NoValidBackend)."""
    c = admin_conn()
    backend = E["VOLUME_TYPE"]
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            r = c.block_storage.get("/scheduler-stats/get_pools?detail=true")
            pools = r.json().get("pools", []) if r.ok else []
            names = [p.get("name", "") for p in pools]
            if any(f"@{backend}#" in n for n in names):
                return
            last = f"HTTP {r.status_code}, pools {names}"
        except Exception as e:  # noqa: BLE001 - keep polling while services settle
            last = repr(e)
        time.sleep(1)
    sys.exit(f"cinder-scheduler has no pool for backend {backend} after {timeout}s: {last}")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    {"catalog": catalog, "resources": resources, "appcred": appcred, "wait-compute": wait_compute,
     "wait-volume": wait_volume}[cmd]()
