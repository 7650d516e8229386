"""Built-in architecture plugins, registered through the ``conslaws.architectures`` entry points.

* ``linear``: deep linear networks x -> W_q ⋯ W_1 x;
* ``relu``: ReLU networks, optional hidden biases (path lifting);
* ``custom``: any polynomial map φ given as formulas.
"""
