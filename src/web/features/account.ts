// The account itself: change its password, delete it.
import { element, field, type Demo } from '../page';

export const mountAccount = (demo: Demo) => {
  const passwordForm = element<HTMLFormElement>('password-form');
  passwordForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void demo.run(async () => {
      await demo.client.changePassword({
        currentPassword: field(passwordForm, 'currentPassword').value,
        newPassword: field(passwordForm, 'newPassword').value,
      });
      passwordForm.reset();
      await demo.showSignedIn();
      return 'Password changed: every other session has ended, this one goes on with new tokens';
    });
  });

  const deleteForm = element<HTMLFormElement>('delete-form');
  deleteForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void demo.run(async () => {
      await demo.client.deleteAccount({ password: field(deleteForm, 'password').value });
      demo.showSignedOut();
      return 'Account deleted, with all its sessions';
    });
  });
};
