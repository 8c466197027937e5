"""The classroom: learners' progress and its stores, identity, the teacher's gate and class report."""
