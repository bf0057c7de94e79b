package provider

// Levels of the SDK loggers. terraform-plugin-go and the framework log every request at TRACE
// and DEBUG, a few hundred lines for each planned resource, and each line is JSON-encoded and
// written to Terraform unless the logger's own level leaves it out. Terraform then drops every
// line below the level it shows: TF_LOG_PROVIDER, else TF_LOG, and none when both are unset.
// A logger whose level the user left unset logs at TRACE, so by default the provider spends a
// third of its CPU time in a plan writing logs that no one sees.

import (
	"strings"
)

// The environment variables that set the level of each logger in the provider process.
const (
	envLogSDK          = "TF_LOG_SDK"           // terraform-plugin-go and framework root logger
	envLogSDKProto     = "TF_LOG_SDK_PROTO"     // terraform-plugin-go, per request
	envLogSDKFramework = "TF_LOG_SDK_FRAMEWORK" // the framework, per attribute
	envLogProviderOwn  = "TF_LOG_PROVIDER_SWARM"
)

var logLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"}

// LogLevelDefaults returns the loggers the user left unset, each with the level of what
// Terraform will show of this provider's logs, so that no logger writes lines Terraform drops.
// getenv reads the environment. It changes nothing that can be seen: with TF_LOG=trace (or
// TF_LOG_PROVIDER=trace) every logger still writes everything, and a level the user set is
// kept and never made more verbose. The provider's main sets these before serving, except in
// debug mode, where the provider's own stderr shows every log line.
func LogLevelDefaults(getenv func(string) string) map[string]string {
	shown := terraformShows(getenv)
	if shown == "TRACE" {
		return nil // what every logger does when its level is unset
	}
	sdk := shown
	if v := getenv(envLogSDK); v != "" {
		// The SDK's subsystems follow a level the user gave the SDK as a whole, where it is
		// quieter than what Terraform shows.
		sdk = quieter(shown, parseLevel(v))
	}
	out := map[string]string{}
	for name, level := range map[string]string{envLogSDK: shown, envLogSDKProto: sdk, envLogSDKFramework: sdk, envLogProviderOwn: shown} {
		if getenv(name) == "" {
			out[name] = level
		}
	}
	return out
}

// terraformShows is the level at which Terraform shows a provider's log lines, read the way
// Terraform reads it: TF_LOG_PROVIDER, else TF_LOG; none when both are unset; JSON and any
// value it does not know mean TRACE.
func terraformShows(getenv func(string) string) string {
	v := getenv("TF_LOG_PROVIDER")
	if v == "" {
		v = getenv("TF_LOG")
	}
	if v == "" {
		return "OFF"
	}
	return parseLevel(v)
}

// parseLevel reads a level name; anything else counts as TRACE, the most verbose.
func parseLevel(v string) string {
	v = strings.ToUpper(strings.TrimSpace(v))
	for _, l := range logLevels {
		if v == l {
			return l
		}
	}
	return "TRACE"
}

// quieter is the less verbose of two levels.
func quieter(a, b string) string {
	rank := func(l string) int {
		for i, x := range logLevels {
			if x == l {
				return i
			}
		}
		return 0
	}
	if rank(a) >= rank(b) {
		return a
	}
	return b
}
