package orchestrator

import (
	"strings"

	"github.com/distribution/reference"
)

// HasDigest reports whether an image reference carries "@sha256:...".
func HasDigest(image string) bool { return strings.Contains(image, "@") }

// StripDigest removes a trailing "@digest" from an image reference.
func StripDigest(image string) string {
	if i := strings.LastIndex(image, "@"); i >= 0 {
		return image[:i]
	}
	return image
}

// WithDigest pins an image reference (keeping the user's spelling and tag) to a digest.
func WithDigest(image, digest string) string {
	return StripDigest(image) + "@" + digest
}

// SameImage reports whether two references name the same image as a user would mean it:
// a reference without a digest matches the same reference pinned to any digest, and
// "nginx", "docker.io/library/nginx:latest" are the same.
func SameImage(want, got string) bool {
	if want == got {
		return true
	}
	if !HasDigest(want) {
		got = StripDigest(got)
	}
	return canonicalImage(want) == canonicalImage(got)
}

func canonicalImage(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return image
	}
	return reference.TagNameOnly(named).String()
}
