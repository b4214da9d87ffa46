"""NetworkService: networks, subnets, ports, routers, security groups and
floating IPs on the sim cloud, a global group, and the errors that name the
field."""

import pytest

import canopy_client
from canopy.v1 import common_pb2, compute_pb2, network_pb2

LOCAL = common_pb2.Location(cloud="local")


def test_network_lifecycle(client, name):
    n = client.networks
    net = client.wait_result(n.CreateNetwork(network_pb2.CreateNetworkRequest(name=name, location=LOCAL, cidr="10.31.0.0/16")),
                             network_pb2.Network)
    assert net.cidr == "10.31.0.0/16"
    assert n.GetNetwork(network_pb2.GetNetworkRequest(id=name)).id == net.id
    assert net.id in {x.id for x in client.paginate(n.ListNetworks, network_pb2.ListNetworksRequest(name=name))}
    assert any(x.external for x in client.paginate(n.ListNetworks, network_pb2.ListNetworksRequest(external=True)))

    sub = client.wait_result(n.CreateSubnet(network_pb2.CreateSubnetRequest(name=name, network=net.id, cidr="10.31.1.0/24")),
                             network_pb2.Subnet)
    assert sub.gateway_ip == "10.31.1.1" and sub.network_id == net.id
    assert n.GetSubnet(network_pb2.GetSubnetRequest(id=sub.id)).cidr == "10.31.1.0/24"
    assert [x.id for x in client.paginate(n.ListSubnets, network_pb2.ListSubnetsRequest(network=net.id))] == [sub.id]
    with pytest.raises(canopy_client.InvalidArgument) as e:
        n.CreateSubnet(network_pb2.CreateSubnetRequest(name=name + "-x", network=net.id, cidr="10.31.1.128/25"))
    assert "overlaps" in str(e.value)

    sg = client.wait_result(n.CreateSecurityGroup(network_pb2.CreateSecurityGroupRequest(
        name=name, location=LOCAL, rules=[network_pb2.SecurityGroupRule(protocol="tcp", port_min=22, remote_cidr="0.0.0.0/0")])),
        network_pb2.SecurityGroup)
    sg = n.AddSecurityGroupRule(network_pb2.AddSecurityGroupRuleRequest(
        id=sg.id, rule=network_pb2.SecurityGroupRule(protocol="tcp", port_min=7000, remote_group=sg.id)))
    self_rule = next(r for r in sg.rules if r.remote_group == sg.id)
    sg = n.RemoveSecurityGroupRule(network_pb2.RemoveSecurityGroupRuleRequest(id=sg.id, rule_id=self_rule.id))
    assert all(r.remote_group != sg.id for r in sg.rules)
    assert n.GetSecurityGroup(network_pb2.GetSecurityGroupRequest(id=name)).id == sg.id
    assert sg.id in {x.id for x in client.paginate(n.ListSecurityGroups, network_pb2.ListSecurityGroupsRequest(name=name))}

    port = client.wait_result(n.CreatePort(network_pb2.CreatePortRequest(
        name=name, network=net.id, subnet=sub.id, fixed_ip="10.31.1.20", security_groups=[sg.id])), network_pb2.Port)
    assert port.fixed_ips[0].ip == "10.31.1.20"
    assert n.GetPort(network_pb2.GetPortRequest(id=port.id)).network_id == net.id
    assert port.id in {x.id for x in client.paginate(n.ListPorts, network_pb2.ListPortsRequest(network=net.id))}

    rt = client.wait_result(n.CreateRouter(network_pb2.CreateRouterRequest(name=name, location=LOCAL)), network_pb2.Router)
    rt = n.SetRouterGateway(network_pb2.SetRouterGatewayRequest(id=rt.id, external_network="public"))
    assert rt.external_network_id
    rt = n.AddRouterInterface(network_pb2.AddRouterInterfaceRequest(id=rt.id, subnet=sub.id))
    assert [i.subnet_id for i in rt.interfaces] == [sub.id]
    assert n.GetRouter(network_pb2.GetRouterRequest(id=name)).id == rt.id
    assert rt.id in {x.id for x in client.paginate(n.ListRouters, network_pb2.ListRoutersRequest(name=name))}

    fip = client.wait_result(n.AllocateFloatingIP(network_pb2.AllocateFloatingIPRequest(location=LOCAL)), network_pb2.FloatingIP)
    fip = n.AssociateFloatingIP(network_pb2.AssociateFloatingIPRequest(id=fip.ip, port=port.id))
    assert fip.port_id == port.id and fip.fixed_ip == "10.31.1.20"
    assert n.GetFloatingIP(network_pb2.GetFloatingIPRequest(id=fip.id)).ip == fip.ip
    assert fip.id in {x.id for x in client.paginate(n.ListFloatingIPs, network_pb2.ListFloatingIPsRequest())}
    assert n.DisassociateFloatingIP(network_pb2.DisassociateFloatingIPRequest(id=fip.id)).port_id == ""
    client.wait(n.ReleaseFloatingIP(network_pb2.ReleaseFloatingIPRequest(id=fip.id)))

    with pytest.raises(canopy_client.FailedPrecondition):
        n.DeleteRouter(network_pb2.DeleteRouterRequest(id=rt.id))
    n.RemoveRouterInterface(network_pb2.RemoveRouterInterfaceRequest(id=rt.id, subnet=sub.id))
    client.wait(n.DeleteRouter(network_pb2.DeleteRouterRequest(id=rt.id)))
    client.wait(n.DeletePort(network_pb2.DeletePortRequest(id=port.id)))
    client.wait(n.DeleteSecurityGroup(network_pb2.DeleteSecurityGroupRequest(id=sg.id)))
    client.wait(n.DeleteSubnet(network_pb2.DeleteSubnetRequest(id=sub.id)))
    client.wait(n.DeleteNetwork(network_pb2.DeleteNetworkRequest(id=net.id)))
    with pytest.raises(canopy_client.NotFound):
        n.GetNetwork(network_pb2.GetNetworkRequest(id=net.id))


def test_server_with_global_group_and_auto_ip(client, name):
    n = client.networks
    g = client.wait_result(n.CreateSecurityGroup(network_pb2.CreateSecurityGroupRequest(
        name=name, scope=network_pb2.SCOPE_GLOBAL,
        rules=[network_pb2.SecurityGroupRule(protocol="tcp", port_min=7000, remote_group=name)])), network_pb2.SecurityGroup)
    assert g.scope == network_pb2.SCOPE_GLOBAL and not g.location.cloud
    sv = client.compute.CreateServer(compute_pb2.CreateServerRequest(
        name=name, location=LOCAL, flavor="m1.tiny", image="cirros-0.6.2", security_groups=[name], auto_ip=True, wait=True))
    assert any(a.type == "floating" for a in sv.addresses)
    g = n.GetSecurityGroup(network_pb2.GetSecurityGroupRequest(id=g.id))
    assert [r.cloud for r in g.realizations] == ["local"]
    with pytest.raises(canopy_client.FailedPrecondition):
        n.DeleteSecurityGroup(network_pb2.DeleteSecurityGroupRequest(id=g.id))
    mine = [f.id for f in client.paginate(n.ListFloatingIPs, network_pb2.ListFloatingIPsRequest(server=sv.id))]
    assert len(mine) == 1
    client.compute.DeleteServer(compute_pb2.DeleteServerRequest(id=sv.id, wait=True))
    client.wait(n.ReleaseFloatingIP(network_pb2.ReleaseFloatingIPRequest(id=mine[0])))
    client.wait(n.DeleteSecurityGroup(network_pb2.DeleteSecurityGroupRequest(id=g.id)))


def _first_batch(watch, field, resp):
    """The ids of the resources a watch starts with, up to SYNCED."""
    ids = []
    for ev in watch:
        if ev.type == resp.EVENT_TYPE_SYNCED:
            return ids
        assert ev.type == resp.EVENT_TYPE_ADDED, ev
        ids.append(getattr(ev, field).id)
    raise AssertionError("the watch ended before SYNCED")


def test_network_watches(client, name):
    n = client.networks
    sg = client.wait_result(n.CreateSecurityGroup(network_pb2.CreateSecurityGroupRequest(name=name, location=LOCAL)),
                            network_pb2.SecurityGroup)
    watch = n.WatchSecurityGroups(network_pb2.WatchSecurityGroupsRequest(name=name))
    assert _first_batch(watch, "security_group", network_pb2.WatchSecurityGroupsResponse) == [sg.id]
    n.AddSecurityGroupRule(network_pb2.AddSecurityGroupRuleRequest(
        id=sg.id, rule=network_pb2.SecurityGroupRule(protocol="tcp", port_min=8443, remote_cidr="0.0.0.0/0")))
    ev = next(watch)
    assert ev.type == network_pb2.WatchSecurityGroupsResponse.EVENT_TYPE_MODIFIED
    assert any(r.port_min == 8443 for r in ev.security_group.rules)
    watch.cancel()

    public = n.GetNetwork(network_pb2.GetNetworkRequest(id="public"))
    for rpc, req, field, resp, want in [
        (n.WatchNetworks, network_pb2.WatchNetworksRequest(name="public", location=LOCAL), "network",
         network_pb2.WatchNetworksResponse, [public.id]),
        (n.WatchPorts, network_pb2.WatchPortsRequest(name=name), "port", network_pb2.WatchPortsResponse, []),
        (n.WatchFloatingIPs, network_pb2.WatchFloatingIPsRequest(labels={"watch": name}), "floating_ip",
         network_pb2.WatchFloatingIPsResponse, []),
    ]:
        w = rpc(req)
        assert _first_batch(w, field, resp) == want, rpc
        w.cancel()
    with pytest.raises(canopy_client.InvalidArgument) as e:
        next(n.WatchNetworks(network_pb2.WatchNetworksRequest(ids=["not-an-id"])))
    assert "ids" in str(e.value)
    client.wait(n.DeleteSecurityGroup(network_pb2.DeleteSecurityGroupRequest(id=sg.id)))
