package orchestrator

// The rules of a service spec as a whole that Swarm applies only when the service is written
// (or that cannot work once it is), checked before anything is written. Each problem is at its
// attribute path in swarm_service's spelling ("ports[1].published"), with the attributes the
// rule read: the provider reports them at those paths, leaving out the rules that read a value
// not known yet; a stack translates the paths into compose paths (StackService.ComposePath).

import (
	"fmt"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
)

// CheckServiceSpec checks a service spec: its published ports, its mounts, its resources, its
// networks and its ulimits.
func CheckServiceSpec(spec swarm.ServiceSpec) []FieldProblem {
	var out []FieldProblem
	out = append(out, checkPorts(spec.EndpointSpec)...)
	if cs := spec.TaskTemplate.ContainerSpec; cs != nil {
		out = append(out, checkMounts(cs.Mounts)...)
		for _, u := range cs.Ulimits {
			if u == nil {
				continue
			}
			if err := CheckUlimit(u.Soft, u.Hard); err != nil {
				at := fmt.Sprintf("ulimits[%q]", u.Name)
				out = append(out, problem(at+".soft", "Invalid Ulimit", err.Error()+".", at+".hard"))
			}
		}
	}
	out = append(out, CheckReservations(spec.TaskTemplate.Resources)...)
	var targets []string
	for _, n := range spec.TaskTemplate.Networks {
		targets = append(targets, n.Target)
	}
	return append(out, CheckServiceNetworks(targets)...)
}

// checkPorts: with DNS round robin Swarm's routing mesh has no virtual IP, so only host-mode
// ports work; and a published port takes one protocol once (Swarm refuses the write).
func checkPorts(ep *swarm.EndpointSpec) []FieldProblem {
	if ep == nil {
		return nil
	}
	var out []FieldProblem
	for i, p := range ep.Ports {
		at := fmt.Sprintf("ports[%d]", i)
		if ep.Mode == swarm.ResolutionModeDNSRR && p.PublishMode != swarm.PortConfigPublishModeHost {
			out = append(out, problem(at+".mode", "Ingress Port With DNS Round Robin",
				"Swarm's routing mesh needs a virtual IP, so endpoint_mode = \"dnsrr\" only allows ports with mode = \"host\". Set mode = \"host\" on this port, or use endpoint_mode = \"vip\".",
				"endpoint_mode"))
		}
	}
	seen := map[string]int{}
	for i, p := range ep.Ports {
		if p.PublishedPort == 0 {
			continue
		}
		protocol := p.Protocol
		if protocol == "" {
			protocol = swarm.PortConfigProtocolTCP
		}
		key := fmt.Sprintf("%d/%s", p.PublishedPort, protocol)
		if j, dup := seen[key]; dup {
			out = append(out, problem(fmt.Sprintf("ports[%d].published", i), "Duplicate Published Port",
				fmt.Sprintf("ports[%d] already publishes %s; each published port and protocol can be used once.", j, key),
				fmt.Sprintf("ports[%d].protocol", i), fmt.Sprintf("ports[%d].published", j), fmt.Sprintf("ports[%d].protocol", j)))
			continue
		}
		seen[key] = i
	}
	return out
}

// checkMounts: a path in the container takes one mount, a bind mount needs the path on the
// node, and a tmpfs mount has none.
func checkMounts(mounts []mount.Mount) []FieldProblem {
	var out []FieldProblem
	targets := map[string]int{}
	for i, m := range mounts {
		at := fmt.Sprintf("mounts[%d]", i)
		if m.Target != "" {
			if j, dup := targets[m.Target]; dup {
				out = append(out, problem(at+".target", "Duplicate Mount Target",
					fmt.Sprintf("mounts[%d] already mounts %s; a path in the container takes one mount.", j, m.Target), fmt.Sprintf("mounts[%d].target", j)))
			} else {
				targets[m.Target] = i
			}
		}
		switch {
		case m.Type == mount.TypeBind && m.Source == "":
			out = append(out, problem(at+".source", "Missing Bind Source", "A bind mount needs source, the path on the node.", at+".type"))
		case m.Type == mount.TypeTmpfs && m.Source != "":
			out = append(out, problem(at+".source", "Source On Tmpfs Mount", "A tmpfs mount has no source; remove it.", at+".type"))
		}
	}
	return out
}
