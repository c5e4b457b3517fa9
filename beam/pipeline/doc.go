// Package pipeline checks idemcheck histories as an Apache Beam pipeline.
package pipeline
