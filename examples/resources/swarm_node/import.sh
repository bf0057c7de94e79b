# A node is imported by its ID or hostname. The labels taken as managed are those a swarm_node
# resource set before (recorded on the node), else all of the node's labels: the next plan shows
# any that the configuration leaves out as removed.
terraform import swarm_node.zone_a worker-1
