"""The model as TLA+: the generator (:mod:`.generator`, templates in ``templates/``) and the codec between model
states and TLA+ values (:mod:`.values`)."""
