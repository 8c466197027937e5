"""ui/lab/code.py under AppTest: "Code for this setup" on its own and in the Lab page.

The section must show, for the form's current settings, both scripts core.lab.codegen makes, each
downloadable; say when they come from an untouched preset; follow a changed setting; and stay out of
projector mode, where it would only push the charts off a classroom screen.
"""
from dataclasses import replace

from streamlit.testing.v1 import AppTest

from core.lab import codegen
from core.lab.presets import PRESETS
from tests.helpers import lab_page, run_ok

TIMEOUT = 60


def _section():
    # Runs inside AppTest: the config and preset arrive through session_state.
    import streamlit as st

    from ui.lab.code import code_section

    code_section(st.session_state["cfg"], st.session_state.get("preset"))


def section(cfg, preset=None) -> AppTest:
    at = AppTest.from_function(_section, default_timeout=TIMEOUT)
    at.session_state["cfg"] = cfg
    at.session_state["preset"] = preset
    return run_ok(at)


def test_both_scripts_shown_and_downloadable_for_the_config():
    cfg = PRESETS["gradual-unfreeze"].config
    at = section(cfg, "gradual-unfreeze")
    assert at.expander[0].label.startswith("Code for this setup")
    assert [t.label for t in at.tabs] == ["PyTorch", "Keras 3"]
    origin = 'the preset "Gradual unfreezing: the head first, then deeper stages"'
    scripts = [codegen.pytorch_script(cfg, origin), codegen.keras_script(cfg, origin)]
    assert [c.value for c in at.code] == [s.rstrip("\n") for s in scripts]  # st.code drops the last newline
    assert "UNFREEZE_AT = {3: [\"stage6\"], 5: [\"stage5\"]}" in at.code[0].value
    downloads = at.get("download_button")
    assert [d.proto.label for d in downloads] == ["Download finetune_mobilenet_v2.py",
                                                  "Download finetune_mobilenet_v2_keras.py"]
    assert "KERAS_BACKEND=torch python finetune_mobilenet_v2_keras.py" in " ".join(c.value for c in at.caption)
    assert not at.error and not at.warning


def test_a_changed_setting_is_in_the_code_and_no_longer_called_the_preset():
    cfg = replace(PRESETS["gradual-unfreeze"].config, lr=2e-4, optimizer="sgd")
    at = section(cfg, "gradual-unfreeze")
    torch_code = at.code[0].value
    assert "from its current settings" in torch_code and "the preset" not in torch_code
    assert "\nLR = 0.0002 " in torch_code and "torch.optim.SGD(param_groups" in torch_code
    assert "keras.optimizers.SGD(lr, momentum=MOMENTUM" in at.code[1].value


def test_the_lab_shows_the_code_of_its_form_and_hides_it_in_projector_mode():
    at = run_ok(lab_page({"preset": "discriminative-lr", "epochs": "5"}))
    cfg = replace(PRESETS["discriminative-lr"].config, epochs=5)
    assert at.code[0].value == codegen.pytorch_script(cfg).rstrip("\n")  # changed from the preset: "current settings"
    assert 'GROUP_LR = {"stage4": 1e-05, "stage5": 0.0001, "stage6": 0.0001}' in at.code[0].value

    at.toggle(key="lab_presenter").set_value(True)
    run_ok(at)
    assert not [c for c in at.code if "GROUP_LR" in c.value]
    assert not [e for e in at.expander if e.label.startswith("Code for this setup")]


def test_a_group_the_model_lacks_gets_a_message_not_a_script():
    at = section(replace(PRESETS["gradual-unfreeze"].config, model="resnet18"))  # stage6: MobileNetV2's
    assert not at.code and not at.get("download_button")
    assert "Unknown layer group(s) ['stage5', 'stage6']" in at.info[0].value
