# -*- coding: utf-8 -*-
# Copyright (c) canopy developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the networking modules share (canopy's NetworkService over REST).

Networking resources are keyed by name within one cloud, and reference each
other (a subnet's network, a router's external network, a rule's remote
group) only within that cloud. canopyd resolves a name in a reference
across every cloud and refuses one that several clouds use (each simulated
or real cloud has its own "public", "private", "default"), so the modules
resolve references themselves, in the resource's cloud, and send canopy
ids.

A global network or security group (scope GLOBAL) has no cloud; canopy
makes it real in each cloud where a server uses it, as an ordinary
resource of that cloud carrying the label canopy-global=<global id>. Those
realizations belong to canopy: look-ups by name skip them, and a name that
matches a global resource and its realizations means the global one.
"""

from __future__ import annotations

from ansible_collections.canopy.cloud.plugins.module_utils.canopy import (
    CanopyError, live, path_id)

GLOBAL = 'SCOPE_GLOBAL'
REALIZATION_LABEL = 'canopy-global'


def is_global(item):
    return (item or {}).get('scope') == GLOBAL


def is_realization(item):
    return REALIZATION_LABEL in ((item or {}).get('labels') or {})


def cloud_of(item):
    return ((item or {}).get('location') or {}).get('cloud') or ''


def str_labels(labels):
    """Labels as canopy stores them (strings), or None when not given."""
    if labels is None:
        return None
    return dict((k, str(v)) for k, v in labels.items())


def net_location(cm):
    """The task's cloud and region, as a look-up filter.

    Networking resources mostly have no zone (a network, a router, a group),
    so a look-up never filters by zone; a zone given alone stands for the
    one cloud that has it (GET /v1/clouds)."""
    p = cm.params
    loc = {}
    for k in ('cloud', 'region'):
        if p.get(k):
            loc[k] = p[k]
    if not loc.get('cloud') and p.get('zone'):
        clouds = cm.client.get('/v1/clouds').get('clouds') or []
        owners = [c.get('name') for c in clouds if p['zone'] in (c.get('zones') or [])]
        if len(owners) == 1:
            loc['cloud'] = owners[0]
    return loc


def create_location(cm):
    """The location a create sends: cloud, region and zone as given."""
    return dict((k, cm.params[k]) for k in ('cloud', 'region', 'zone') if cm.params.get(k))


def describe(items):
    return ', '.join('%s in %s' % (i.get('id'), cloud_of(i) or 'every cloud (global)') for i in items)


def find_named(cm, collection, key, name, loc, scope_global=False, extra_query=None, keep=None):
    """The one live resource named name in loc (global ones when
    scope_global), or None; realizations of global resources never count.
    Several fail the task, naming them."""
    q = {'name': name}
    if loc and not scope_global:
        q['location'] = loc
    if extra_query:
        q.update(extra_query)
    items, dummy = cm.client.list_all('/v1/%s' % collection, key, query=q)
    items = [i for i in items if i.get('name') == name and live(i) and not is_realization(i)
             and is_global(i) == scope_global and (keep is None or keep(i))]
    if not scope_global and loc.get('region'):
        items = [i for i in items if (i.get('location') or {}).get('region') in (None, '', loc['region'])]
    if len(items) > 1:
        raise CanopyError('%d %s are named %r (%s); set cloud (or region) to choose one'
                          % (len(items), collection, name, describe(items)))
    return items[0] if items else None


def resolve(cm, collection, key, ref, option, cloud=None, allow_global=False, keep=None):
    """The resource a reference names (canopy id or name), in cloud when
    known; a global one too when allow_global. Fails naming option when
    there is none, or several."""
    noun = collection[:-1] if collection != 'securityGroups' else 'security group'
    if collection == 'floatingIps':
        noun = 'floating IP'
    q = {'name': ref}
    items, dummy = cm.client.list_all('/v1/%s' % collection, key, query=q)
    items = [i for i in items if i.get('name') == ref and live(i) and (keep is None or keep(i))]
    globals_ = [i for i in items if is_global(i)]
    gids = set(g.get('id') for g in globals_)
    items = [i for i in items if (i.get('labels') or {}).get(REALIZATION_LABEL) not in gids]
    if not allow_global:
        items = [i for i in items if not is_global(i)]
    if cloud:
        items = [i for i in items if is_global(i) or cloud_of(i) == cloud]
    if len(items) == 1:
        return items[0]
    if len(items) > 1:
        raise CanopyError('canopy rejected field %s: %d %ss are named %r (%s); set cloud or use an id'
                          % (option, len(items), noun, ref, describe(items)))
    try:
        item = cm.client.get_or_none('/v1/%s/%s' % (collection, path_id(ref)))
    except CanopyError as e:
        raise CanopyError('canopy rejected field %s: %s' % (option, e.describe()), status=e.status, code=e.code)
    where = ' in cloud %s' % cloud if cloud else ''
    if item is None or not live(item) or (keep is not None and not keep(item)):
        raise CanopyError('canopy rejected field %s: no %s %r%s' % (option, noun, ref, where), status=404, code=5)
    if is_global(item) and not allow_global:
        raise CanopyError('canopy rejected field %s: %s %r is global; name one of a cloud' % (option, noun, ref))
    if cloud and not is_global(item) and cloud_of(item) != cloud:
        raise CanopyError('canopy rejected field %s: %s %r is in cloud %s, not %s: networking resources '
                          'reference only their own cloud' % (option, noun, ref, cloud_of(item), cloud))
    return item


def resolve_ids(cm, collection, key, refs, option, cloud=None, allow_global=False):
    return [resolve(cm, collection, key, r, '%s[%d]' % (option, i), cloud, allow_global).get('id')
            for i, r in enumerate(refs or [])]


def op_target(cm, collection, op):
    """The resource an operation made (its metadata.target_id), or None."""
    target = (op.get('metadata') or {}).get('target_id')
    if not target:
        return None
    return cm.client.get_or_none('/v1/%s/%s' % (collection, path_id(target)))


def create(cm, collection, body, identity):
    """POSTs a create with the task's derived request_id (see
    CanopyModule.create_idempotent), waits for its operation when asked;
    returns (resource, operation, request_id)."""
    p = cm.params

    def post(rid):
        return cm.client.call('POST', '/v1/%s' % collection, body=dict(body, request_id=rid))

    def still_exists(op):
        # A replayed request_id answers with the first attempt's operation;
        # when that is done and its resource gone, this is a new create.
        if not op.get('done') or op.get('error'):
            return True
        return op_target(cm, collection, op) is not None

    op, rid = cm.create_idempotent(post, still_exists, identity)
    if p['wait']:
        op = cm.client.wait_operation(op, p['timeout'])
    return op_target(cm, collection, op), op, rid


def delete(cm, collection, item):
    """Deletes item (check mode: predicts it) and exits."""
    if cm.check_mode:
        cm.exit(True, None, diff=dict(before=item, after={}))
    op = cm.client.call('DELETE', '/v1/%s/%s' % (collection, path_id(item['id'])))
    if cm.params['wait']:
        op = cm.client.wait_operation(op, cm.params['timeout'])
    cm.exit(True, None, diff=dict(before=item, after={}), operation=op)


def warn_differs(cm, noun, name, differs):
    if differs:
        cm.module.warn('%s %s differs in %s, which canopy cannot change on an existing %s; '
                       'delete and recreate it to change them' % (noun, name, ', '.join(differs), noun))


def find_server(cm, ref, cloud):
    """The server by canopy id or name (in cloud when given), or None."""
    q = {'name': ref}
    if cloud:
        q['location'] = {'cloud': cloud}
    items, dummy = cm.client.list_all('/v1/servers', 'servers', query=q)
    items = [s for s in items if s.get('name') == ref and live(s)]
    if len(items) > 1:
        raise CanopyError('canopy rejected field server: %d servers are named %r (%s); set cloud'
                          % (len(items), ref, ', '.join('%s in %s' % (s['id'], cloud_of(s)) for s in items)))
    if items:
        return items[0]
    s = cm.client.get_or_none('/v1/servers/%s' % path_id(ref))
    if s is not None and live(s) and (not cloud or cloud_of(s) == cloud):
        return s
    return None
