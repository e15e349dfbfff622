"""What ops watch: worker liveness, queue depths, throughput."""
