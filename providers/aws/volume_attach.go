package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/canopy-cloud/canopy/providers"
)

// instanceLock serializes the attaches to one instance, so two never pick
// the same device.
func (c *Cloud) instanceLock(id string) *sync.Mutex {
	st := c.ebs()
	st.mu.Lock()
	defer st.mu.Unlock()
	m, ok := st.attach[id]
	if !ok {
		m = &sync.Mutex{}
		st.attach[id] = m
	}
	return m
}

// deviceLetter is the letter of /dev/sdX, /dev/xvdX (and /dev/sdX1...): EC2
// treats sdf and xvdf as the same slot.
func deviceLetter(dev string) string {
	dev = strings.TrimPrefix(dev, "/dev/")
	for _, p := range []string{"xvd", "sd", "hd", "vd"} {
		if strings.HasPrefix(dev, p) && len(dev) > len(p) {
			return dev[len(p) : len(p)+1]
		}
	}
	return dev
}

// freeDevice picks the first device of devices the instance does not use
// and this adapter did not give out in the last minute (EC2's describe may
// lag behind an attach). Callers hold the instance's lock.
func (c *Cloud) freeDevice(in types.Instance, skip map[string]bool) (string, bool) {
	used := map[string]bool{}
	if in.RootDeviceName != nil {
		used[deviceLetter(*in.RootDeviceName)] = true
	}
	for _, b := range in.BlockDeviceMappings {
		used[deviceLetter(awssdk.ToString(b.DeviceName))] = true
	}
	id := awssdk.ToString(in.InstanceId)
	st := c.ebs()
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, at := range st.devices {
		if time.Since(at) > time.Minute {
			delete(st.devices, k)
		} else if inst, dev, _ := strings.Cut(k, " "); inst == id {
			used[deviceLetter(dev)] = true
		}
	}
	for _, d := range devices {
		if !used[deviceLetter(d)] && !skip[d] {
			st.devices[id+" "+d] = time.Now()
			return d, true
		}
	}
	return "", false
}

// AttachVolume implements providers.Volumes with AttachVolume on the first
// free device from /dev/sdf. Only an available volume attaches (one
// attached anywhere is a conflict, as on the other clouds; EBS multi-attach
// is not used).
func (c *Cloud) AttachVolume(ctx context.Context, volumeID, serverID string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, v, err := c.describeVolume(ctx, volumeID)
	if err != nil {
		if errors.Is(err, errNotYetVisible) {
			return fmt.Errorf("aws: attach volume %s: %w: it is still being created", volumeID, providers.ErrConflict)
		}
		return err
	}
	if v.State != types.VolumeStateAvailable {
		return fmt.Errorf("aws: attach volume %s in state %s: %w", volumeID, v.State, providers.ErrConflict)
	}
	lock := c.instanceLock(serverID)
	lock.Lock()
	defer lock.Unlock()
	_, in, err := c.describeInstance(ctx, serverID)
	if err != nil {
		if _, ok := c.recentServer(serverID); ok && isNotFound(err) {
			return fmt.Errorf("aws: attach volume %s to instance %s: %w: the instance is still pending", volumeID, serverID, providers.ErrConflict)
		}
		return fmt.Errorf("aws: attach volume %s: %w", volumeID, err)
	}
	if az := in.Placement; az != nil && awssdk.ToString(az.AvailabilityZone) != awssdk.ToString(v.AvailabilityZone) {
		return fmt.Errorf("aws: attach volume %s (zone %s) to instance %s (zone %s): %w: not in the same zone",
			volumeID, awssdk.ToString(v.AvailabilityZone), serverID, awssdk.ToString(az.AvailabilityZone), providers.ErrInvalid)
	}
	if s := instanceState(in); s != stateRunning && s != stateStopped {
		return fmt.Errorf("aws: attach volume %s to instance %s in state %s: %w", volumeID, serverID, s, providers.ErrConflict)
	}
	api, err := c.ebsClient(region)
	if err != nil {
		return err
	}
	skip := map[string]bool{}
	for {
		dev, ok := c.freeDevice(in, skip)
		if !ok {
			return fmt.Errorf("aws: attach volume %s to instance %s: %w: no free device in /dev/sdf../dev/sdp", volumeID, serverID, providers.ErrQuota)
		}
		_, err := api.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: awssdk.String(volumeID), InstanceId: awssdk.String(serverID), Device: awssdk.String(dev)})
		if err == nil {
			return nil
		}
		err = ebsFail(err, reference, "attach volume %s to instance %s as %s in %s", volumeID, serverID, dev, region)
		var ae *Error
		if errors.As(err, &ae) && strings.Contains(strings.ToLower(ae.Message), "already in use") {
			skip[dev] = true // taken behind the describe's back: the next one
			continue
		}
		if errors.As(err, &ae) && strings.HasPrefix(ae.Code, "InvalidInstanceID") {
			ae.Kind = providers.ErrNotFound
		}
		return err
	}
}

// DetachVolume implements providers.Volumes with DetachVolume. A volume not
// attached to that instance (or already detaching from it) is a conflict.
func (c *Cloud) DetachVolume(ctx context.Context, volumeID, serverID string) error {
	if err := c.check(); err != nil {
		return err
	}
	region, v, err := c.describeVolume(ctx, volumeID)
	if err != nil {
		if errors.Is(err, errNotYetVisible) {
			return fmt.Errorf("aws: detach volume %s: %w: not attached to instance %s", volumeID, providers.ErrConflict, serverID)
		}
		return err
	}
	attached := false
	for _, a := range v.Attachments {
		if awssdk.ToString(a.InstanceId) == serverID && (a.State == types.VolumeAttachmentStateAttached ||
			a.State == types.VolumeAttachmentStateAttaching || a.State == types.VolumeAttachmentStateBusy) {
			attached = true
		}
	}
	if !attached {
		return fmt.Errorf("aws: detach volume %s: %w: not attached to instance %s", volumeID, providers.ErrConflict, serverID)
	}
	api, err := c.ebsClient(region)
	if err != nil {
		return err
	}
	if _, err := removal(ctx, api.DetachVolume, &ec2.DetachVolumeInput{VolumeId: awssdk.String(volumeID), InstanceId: awssdk.String(serverID)}); err != nil {
		return ebsFail(err, target, "detach volume %s from instance %s in %s", volumeID, serverID, region)
	}
	return nil
}
