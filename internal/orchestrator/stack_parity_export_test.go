package orchestrator

// The parity helpers of stack_parity_test.go, for the parity test of swarm_stack
// (stack_resource_parity_test.go, package orchestrator_test: it runs the provider).
var (
	ParityCompose = parityCompose
	ParitySpec    = paritySpec
	ParityNetwork = parityNetwork
	ParityObjects = parityObjects
	ObjectNames   = objectNames
)
